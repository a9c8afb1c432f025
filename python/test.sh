#!/usr/bin/env bash
# Runs everything Python: builds the rpl binary and the extension, then the
# pytest suite (the Spark test on local[2] included: nothing may be skipped)
# and the example. On a fresh Debian machine it first installs what is
# missing: OpenJDK 17 (for Spark) and a virtual environment at python/.venv
# with the pinned packages of requirements-dev.txt. A second run installs
# nothing and needs no network.
#
#   bash python/test.sh            # from anywhere
#   CARGO_TARGET_DIR=… bash python/test.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="$HERE/.venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
say() { printf '\n== %s\n' "$*"; }

# Java, for Spark: Debian's OpenJDK 17, only when there is no java at all.
if ! command -v java >/dev/null 2>&1; then
    say "installing openjdk-17-jre-headless"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

command -v cargo >/dev/null 2>&1 || { echo "error: cargo is needed (https://rustup.rs)" >&2; exit 1; }

# The virtual environment, with exactly the pinned packages. A stamp holds
# the hash of the pins it was made from; the same pins install nothing.
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV" || {
        # Debian's python3 needs python3-venv for ensurepip.
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && "$PYTHON" -m venv "$VENV"
    }
fi
WANT="$(sha256sum "$HERE/requirements-dev.txt" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.pins" 2>/dev/null || true)" != "$WANT" ]; then
    say "installing the pinned packages"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements-dev.txt"
    echo "$WANT" > "$VENV/.pins"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"

say "building the rpl binary (cargo build --release) into $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --release --bin rpl --quiet)

say "building the extension into the venv (maturin develop --release)"
# No index: the wheel has no dependencies to fetch, and a second run must need no network.
(cd "$HERE" && PIP_NO_INDEX=1 maturin develop --release)
python -c "import rpl, rpl._rpl; print('rpl', rpl.__version__, 'from', rpl._rpl.__file__)"

say "pytest"
export RPL_BIN="$CARGO_TARGET_DIR/release/rpl" RPL_REQUIRE_ALL=1
(cd "$HERE" && python -m pytest -q -p no:cacheprovider tests)

say "examples/tune_threshold.py"
OUT="$(mktemp -d)/threshold.png"
(cd "$HERE" && MPLBACKEND=Agg python examples/tune_threshold.py --customers 1500 --days 90 --out "$OUT")
test -s "$OUT" || { echo "error: the example saved no plot" >&2; exit 1; }

say "all Python checks passed"
