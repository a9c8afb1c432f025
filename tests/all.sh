#!/usr/bin/env bash
# Every test of rpl, on a fresh machine too: the Rust tests (cargo test), the
# Python package and its Spark backtest (python/test.sh installs OpenJDK and a
# pinned virtual environment when missing), and the policy studio in a real
# browser (studio/test.sh installs Chromium and its driver when missing).
# Nothing is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== cargo test"
cargo test

echo "== python"
bash python/test.sh

if [ -f studio/test.sh ]; then
    echo "== studio"
    bash studio/test.sh
fi

echo "== all tests passed"
