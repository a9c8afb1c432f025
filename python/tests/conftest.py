"""Shared fixtures: the repository, the real `rpl` binary, and generated streams.

The tests hold the package to the command line: every verdict and summary is
compared with what the binary prints for the same input.
"""

from __future__ import annotations

import json
import os
import re
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


FLOOR = POLICIES / "platform_floor.rpl"


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Path:
    """Linen House's policy (rules at inspection, a refund clock) for all the
    generator sells: without its own lists of categories, conditions and evidence."""
    text = (POLICIES / "shops" / "linen_house.rpl").read_text()
    words = re.compile(r"^values (item\.category|item\.condition|return\.evidence)\s*=\s*\[[^\]]*\]\n", re.M)
    assert len(words.findall(text)) == 3
    path = tmp_path_factory.mktemp("shop") / "linen_house_any_category.rpl"
    path.write_text(words.sub("", text))
    return path


def _time(event: Dict[str, Any]):
    from datetime import datetime

    key = {"order": "placed_at", "return": "requested_at"}.get(event["event"], "at")
    return datetime.fromisoformat(event[key]) if key in event else None


@pytest.fixture(scope="session")
def life_stream(tmp_path_factory, cli) -> Path:
    """A generated stream with inspections (swaps planted) and a person's
    review decisions on the first returns the platform floor holds: every
    kind of record a return's life writes (docs/language.md §11.17)."""
    from datetime import timedelta

    root = tmp_path_factory.mktemp("life")
    path = root / "generated.jsonl"
    stats = rpl.generate(path, customers=300, days=40, seed=11, inspections=True)
    assert stats["inspections"] > 20 and stats["swaps"] > 0
    out = root / "records.jsonl"
    cli("backtest", FLOOR, path, "--out", out)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    # The requests' own records (a return's later records are its life's).
    requests = {}
    for r in read_jsonl(out):
        if events[r["line"] - 1].get("id") == r["return_id"]:
            requests.setdefault(r["return_id"], r)
    requests = list(requests.values())
    held = [r for r in requests if r["verdict"]["decision"] == "review"][:6]
    assert len(held) == 6
    # Each decision an hour after its request, before the next event later than that.
    for n, r in enumerate(sorted(held, key=lambda r: -r["line"])):
        at = _time(events[r["line"] - 1]) + timedelta(hours=1)
        i = r["line"]
        while i < len(events) and (_time(events[i]) is None or _time(events[i]) <= at):
            i += 1
        decision = {"event": "review_decision", "return_id": r["return_id"], "at": at.isoformat(),
                    "decision": "approve" if n % 2 else "deny", "by": "agent-7", "reason": "checked the photos"}
        events.insert(i, decision)
    life = root / "life.jsonl"
    life.write_text("".join(json.dumps(e) + "\n" for e in events))
    return life


def pytest_sessionfinish(session, exitstatus):
    """Under test.sh (RPL_REQUIRE_ALL=1) a skipped test is a failure: everything must run."""
    if not os.environ.get("RPL_REQUIRE_ALL"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        print(f"\nerror: {len(skipped)} tests were skipped; every test must run here")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
