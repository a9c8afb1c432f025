"""Shared fixtures: the repository, the real `rpl` binary, and generated streams.

The tests hold the package to the command line: every verdict and summary is
compared with what the binary prints for the same input.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

import rpl

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
EXAMPLES = ROOT / "examples"
STRICTER = ROOT / "tests" / "backtest" / "risk_block_at_60.rpl"


def rpl_binary() -> Path:
    """The binary test.sh builds (`cargo build --release`), or $RPL_BIN."""
    if "RPL_BIN" in os.environ:
        return Path(os.environ["RPL_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "rpl"


@pytest.fixture(scope="session")
def cli():
    binary = rpl_binary()
    assert binary.exists(), f"build the binary first: cargo build --release ({binary} is missing)"

    def run(*args: Any, input: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(binary), *map(str, args)],
            input=input,
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def read_jsonl(path: Path) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verdict_of(row: Dict[str, Any]) -> Dict[str, Any]:
    """A `--out` line's verdict: the bare verdict, or the record's `verdict`."""
    return row["verdict"] if "verdict" in row and "decision" not in row else row


@pytest.fixture(scope="session")
def stream(tmp_path_factory) -> Path:
    """A generated stream with planted, labelled abusers (a few hundred returns)."""
    path = tmp_path_factory.mktemp("stream") / "events.jsonl"
    stats = rpl.generate(path, customers=400, days=75, seed=7)
    assert stats["returns"] > 100 and stats["abusive_returns"] > 10
    return path


def pytest_sessionfinish(session, exitstatus):
    """Under test.sh (RPL_REQUIRE_ALL=1) a skipped test is a failure: everything must run."""
    if not os.environ.get("RPL_REQUIRE_ALL"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        print(f"\nerror: {len(skipped)} tests were skipped; every test must run here")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
