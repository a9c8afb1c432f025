#!/usr/bin/env bash
# The policy studio's tests: the committed bundle against a fresh build, then
# the page in a real browser (headless Chromium over WebDriver) against the
# real binary on loopback. Installs what is missing — Chromium and its
# driver, a CJK font, Node and npm (apt), selenium 4.51.0 in studio/.venv —
# so a fresh machine passes it; nothing is skipped. Screenshots are written
# to studio/test/artifacts/; STUDIO_DOCS_SCREENSHOT=PATH also saves the one
# the README shows.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
studio=$(pwd)
root=$(cd .. && pwd)

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if ! command -v fc-list >/dev/null || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
    missing+=(fonts-wqy-microhei)
fi
command -v npm >/dev/null || missing+=(nodejs npm)
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "== studio: installing ${missing[*]}"
    sudo_ apt-get update -qq
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

venv="$studio/.venv"
if ! "$venv/bin/python" -c 'import selenium, sys; sys.exit(selenium.__version__ != "4.51.0")' 2>/dev/null; then
    echo "== studio: a virtual environment with selenium 4.51.0 in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check selenium==4.51.0
fi

echo "== studio: bundle"
bash "$studio/check-bundle.sh"

echo "== studio: building rpl"
(cd "$root" && cargo build --quiet --bin rpl)
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target="$root/$target" ;; esac

echo "== studio: the browser test"
rm -rf "$studio/test/artifacts"
mkdir -p "$studio/test/artifacts"
# Selenium finds the driver and the browser by these paths; it fetches nothing.
export SE_OFFLINE=true SE_AVOID_STATS=true
RPL_ROOT="$root" RPL_BIN="$target/debug/rpl" STUDIO_ARTIFACTS="$studio/test/artifacts" \
    "$venv/bin/python" "$studio/test/test_studio.py"
