#!/usr/bin/env bash
# Holds the committed bundle (studio/dist/) to a fresh build of studio/src
# with the locked packages: `cargo build` embeds dist/ and never runs npm, so
# a source change must come with its rebuilt bundle (npm run build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v npm >/dev/null; then
    sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    sudo_ apt-get update -qq
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
# node_modules as package-lock.json pins it (esbuild, TypeScript, CodeMirror);
# the copy of the lock file npm ci was run with says whether it still is.
if ! cmp -s package-lock.json node_modules/.installed-from-lock; then
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-from-lock
fi
npm run --silent typecheck
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
node build.mjs "$fresh"
if ! diff -r "$fresh" dist >/dev/null; then
    echo "studio/dist does not match a fresh build of studio/src: run 'npm run build' in studio/ and commit dist/" >&2
    diff -rq "$fresh" dist >&2 || true
    exit 1
fi
echo "studio: the committed bundle matches a fresh build"
