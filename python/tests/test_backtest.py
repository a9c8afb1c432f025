"""rpl.backtest against `rpl backtest --out --json` on a generated stream, return by return."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pandas as pd
import pytest

import rpl
from conftest import POLICIES, STRICTER, read_jsonl, verdict_of

RISK = POLICIES / "risk.rpl"


def cli_backtest(cli, tmp_path: Path, stream: Path, *extra: Any):
    out = tmp_path / "verdicts.jsonl"
    proc = cli("backtest", RISK, stream, "--json", "--out", out, "--threads", 2, *extra)
    return json.loads(proc.stdout), read_jsonl(out)


def assert_rows_match(frame: pd.DataFrame, rows: List[Dict[str, Any]], stream: Path) -> None:
    """Every row of the frame is the CLI's verdict of the same return."""
    assert len(frame) == len(rows) > 0
    events = {i + 1: json.loads(line) for i, line in enumerate(stream.read_text().splitlines()) if line.strip()}
    owners = {e["id"]: e["customer_id"] for e in events.values() if e["event"] == "order"}
    for row, out in zip(frame.itertuples(index=False), rows):
        v = verdict_of(out)
        event = events[row.line]
        assert event["event"] == "return" and event["id"] == row.return_id == v["return_id"]
        assert row.order_id == event["order_id"] and row.customer_id == owners[event["order_id"]]
        assert row.label == event.get("label")
        assert (row.decision, row.refund, row.shipping, row.risk) == (v["decision"], v["refund"], v["shipping"], v["risk"])
        assert row.flags == [f["name"] for f in v["flags"]]
        fired = {r["rule"] for line in v["lines"] for r in line["rules"]}
        assert set(row.rules) == fired and len(row.rules) == len(fired)
        assert row.errors == len(v["errors"])


def test_backtest_of_a_path_equals_the_cli(cli, tmp_path, stream):
    summary, rows = cli_backtest(cli, tmp_path, stream)
    result = rpl.backtest(rpl.Policy.from_file(RISK), stream)
    assert result.summary == summary
    assert_rows_match(result.verdicts, rows, stream)
    s, v = result  # unpacks
    assert s is result.summary and v is result.verdicts
    # A policy given as text or as a path gives the same.
    assert rpl.backtest(RISK.read_text(), str(stream)).summary == summary
    assert rpl.backtest(RISK, stream, threads=1).verdicts.equals(result.verdicts)


def test_every_input_form_gives_the_same(stream):
    policy = rpl.Policy.from_file(RISK)
    expected = rpl.backtest(policy, stream)
    lines = stream.read_text().splitlines()
    dicts = [json.loads(line) for line in lines]
    forms = {
        "json lines": iter(lines),
        "dicts": (d for d in dicts),
        "text frame": pd.DataFrame({"value": lines}),
        # One column per key, as pd.read_json gives it with dtype=False:
        # missing cells (NaN) are absent keys.
        "column frame": pd.read_json(stream, lines=True, dtype=False),
    }
    for name, events in forms.items():
        got = rpl.backtest(policy, events)
        assert got.summary == expected.summary, name
        assert got.verdicts.equals(expected.verdicts), name


def test_frame_shape_and_dtypes(stream):
    v = rpl.backtest(rpl.Policy.from_file(RISK), stream).verdicts
    assert list(v.columns) == rpl.VERDICT_COLUMNS
    assert {c: str(t) for c, t in v.dtypes.items() if str(t) != "object"} == {
        "line": "int64",
        "risk": "int64",
        "errors": "int64",
    }
    assert v["line"].is_monotonic_increasing and v["return_id"].is_unique
    assert all(isinstance(x, str) and "." in x for x in v["refund"])  # exact text, never float
    assert set(v["decision"]) <= {"approve", "partial", "review", "deny"}
    assert set(v["label"]) <= {"abuse", "ok", None}
    assert all(isinstance(f, list) for f in v["flags"])
    empty = rpl.backtest(rpl.Policy.from_file(RISK), [{"event": "customer", "id": "C-1"}]).verdicts
    assert empty.shape == (0, len(rpl.VERDICT_COLUMNS)) and str(empty["risk"].dtype) == "int64"


def stricter(tmp_path: Path) -> Path:
    """The risk policy blocking at 60 and counting 3 returns a month as serial: many returns change."""
    text = STRICTER.read_text()
    assert "count(returns in last 30 days) >= 5" in text
    path = tmp_path / "stricter.rpl"
    path.write_text(text.replace("count(returns in last 30 days) >= 5", "count(returns in last 30 days) >= 3"))
    return path


def test_compare_matches_the_clis_comparison(cli, tmp_path, stream):
    other = stricter(tmp_path)
    summary, rows = cli_backtest(cli, tmp_path, stream, "--compare", other)
    result = rpl.backtest(rpl.Policy.from_file(RISK), stream, compare=rpl.Policy.from_file(other))
    assert result.summary == summary
    v = result.verdicts
    assert list(v.columns) == rpl.VERDICT_COLUMNS + rpl.COMPARE_COLUMNS
    assert_rows_match(v, rows, stream)
    changed = v[(v.decision != v.compare_decision) | (v.refund != v.compare_refund)]
    comparison = summary["compare"]
    assert comparison["changed"] == len(changed) > 0
    assert comparison["flags_gained"]
    assert [
        {"line": r.line, "return_id": r.return_id, "from": r.decision, "to": r.compare_decision,
         "refund_from": r.refund, "refund_to": r.compare_refund}
        for r in changed.head(20).itertuples()
    ] == comparison["first_changes"]
    moves = changed[changed.decision != changed.compare_decision].groupby(["decision", "compare_decision"]).size()
    assert {(m["from"], m["to"]): m["returns"] for m in comparison["moves"]} == moves.to_dict()
    # The compared policy's own precision/recall, from its columns, equal the CLI's.
    labelled = v[v.label.notna()]
    for score in comparison["labels"]["flags"]:
        fired = labelled.compare_flags.map(lambda f, n=score["name"]: n in f)
        abuse = labelled.label == "abuse"
        assert (fired & abuse).sum() == score["true_positives"], score["name"]
        assert (fired & ~abuse).sum() == score["false_positives"], score["name"]
    # Flags gained and lost, return by return.
    for key, a, b in (("flags_gained", "compare_flags", "flags"), ("flags_lost", "flags", "compare_flags")):
        counts: Dict[str, int] = {}
        for x, y in zip(v[a], v[b]):
            for name in x:
                if name not in y:
                    counts[name] = counts.get(name, 0) + 1
        assert {c["name"]: c["fired"] for c in comparison[key]} == counts, key
    # The second policy is judged on the first's history, not on the statuses
    # its own verdicts would give: one that refuses every return never sees a
    # refund in a history of its own, but beside the first it sees the first's
    # refunds (large_refund_volume sums them), so the compared columns are not
    # simply a second, separate replay.
    text = STRICTER.read_text()
    assert "when   risk >= 60" in text
    refuse_all = tmp_path / "refuse_all.rpl"
    refuse_all.write_text(text.replace("when   risk >= 60", "when   risk >= -1000"))
    beside = rpl.backtest(RISK, stream, compare=refuse_all).verdicts
    alone = rpl.backtest(refuse_all, stream).verdicts
    assert (alone["decision"] == "deny").all()
    assert not alone["flags"].map(lambda f: "large_refund_volume" in f).any()
    assert beside["compare_flags"].map(lambda f: "large_refund_volume" in f).any()
    # From dicts too (read twice inside).
    dicts = [json.loads(line) for line in stream.read_text().splitlines()]
    again = rpl.backtest(RISK, iter(dicts), compare=other)
    assert again.verdicts.equals(v) and again.summary == summary


def assert_lives_match(frame: pd.DataFrame, records: List[Dict[str, Any]]) -> None:
    """The request's columns are each return's first record; the final ones
    its last (its reviews, their timeouts and its inspections), per policy."""
    first: Dict[str, Dict[str, Any]] = {}
    last: Dict[str, Dict[str, Any]] = {}
    for r in records:
        first.setdefault(r["return_id"], r)
        last[r["return_id"]] = r
    assert list(frame.return_id) == list(first)
    for row in frame.itertuples(index=False):
        a, z = first[row.return_id], last[row.return_id]
        assert row.line == a["line"]
        for prefix, key in (("", "verdict"), ("compare_", "compare")):
            if key not in a:
                continue
            got = lambda c: getattr(row, prefix + c)  # noqa: E731
            assert (got("decision"), got("refund")) == (a[key]["decision"], a[key]["refund"])
            end = z[key]
            assert (got("stage"), got("final_decision"), got("final_refund")) == (
                end.get("stage", "request"), end["decision"], end["refund"]), row.return_id


def test_a_returns_life_ends_in_the_final_columns(cli, tmp_path, life_stream, shop):
    from conftest import FLOOR

    out = tmp_path / "records.jsonl"
    summary = json.loads(cli("backtest", FLOOR, life_stream, "--json", "--out", out, "--compare", shop).stdout)
    records = read_jsonl(out)
    life = summary["life"]
    assert life["review_decisions"] == 6 and life["inspections"] > 20 and life["timeouts"] > 0
    result = rpl.backtest(FLOOR, life_stream, compare=shop)
    assert result.summary == summary
    v = result.verdicts
    assert list(v.columns) == rpl.VERDICT_COLUMNS + rpl.COMPARE_COLUMNS
    assert len(v) == summary["returns"] < len(records)
    assert_lives_match(v, records)
    # Every stage shows, and the life moved some returns from their request's verdict.
    assert set(v.stage) == {"request", "review", "inspection"}
    assert (v.final_decision != v.decision).any() and (v.compare_final_refund != v.compare_refund).any()
    # Without compare, on one thread or two, the same.
    alone = rpl.backtest(FLOOR, life_stream, threads=1).verdicts
    assert alone[rpl.VERDICT_COLUMNS].equals(v[rpl.VERDICT_COLUMNS])
    assert rpl.backtest(FLOOR, life_stream, threads=2).verdicts.equals(alone)


def test_until_is_the_streams_last_moment(life_stream):
    from conftest import FLOOR

    lines = life_stream.read_text().splitlines()
    decided = {json.loads(x)["return_id"] for x in lines if '"review_decision"' in x}
    full = rpl.backtest(FLOOR, life_stream).verdicts
    held = full[(full.decision == "review") & ~full.return_id.isin(decided)].iloc[0]
    # The stream cut just after a request the floor holds: its review is
    # still open at the cut's own last moment, and times out by a later one.
    head = lines[: held.line]
    short = rpl.backtest(FLOOR, iter(head))
    later = rpl.backtest(FLOOR, iter(head), until="2099-01-01T00:00:00+08:00")
    a = short.verdicts.set_index("return_id").loc[held.return_id]
    b = later.verdicts.set_index("return_id").loc[held.return_id]
    assert (a.stage, a.final_decision) == ("request", "review")
    assert b.stage == "review" and b.final_decision in ("approve", "deny")
    assert later.summary["life"]["timeouts"] > short.summary.get("life", {}).get("timeouts", 0)
    with pytest.raises(ValueError, match="until"):
        rpl.backtest(FLOOR, iter(head), until="next tuesday")


def test_a_bad_line_stops_with_its_line_and_path(cli, tmp_path, stream):
    lines = stream.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if '"event": "return"' in line or '"event":"return"' in line)
    bad = json.loads(lines[at])
    bad["items"][0]["sku"] = "NO-SUCH-SKU"
    lines[at] = json.dumps(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(rpl.InputError) as info:
        rpl.backtest(RISK, broken)
    e = info.value
    assert e.line == at + 1 and e.path == "items[0].sku" and "is not on order" in e.message
    proc = cli("backtest", RISK, broken, ok=False)
    assert proc.returncode == 2
    assert f"{broken}:{e.line}: {e.path}: {e.message}" in proc.stderr
    # skip_invalid lists and skips, as --skip-invalid does.
    summary = json.loads(cli("backtest", RISK, broken, "--json", "--skip-invalid").stdout)
    skipped = rpl.backtest(RISK, broken, skip_invalid=True)
    assert skipped.summary == summary and summary["invalid"][0]["line"] == at + 1
    assert len(skipped.verdicts) == summary["returns"]
    assert at + 1 not in set(skipped.verdicts["line"])


def test_bad_python_events(stream):
    first = json.loads(stream.read_text().splitlines()[0])
    with pytest.raises(rpl.InputError) as info:
        rpl.backtest(RISK, [first, {**first, "created_at": 3.5}])
    assert (info.value.line, info.value.path) == (2, "created_at") and "float" in info.value.message
    with pytest.raises(rpl.InputError, match="one line of JSON") as info:
        rpl.backtest(RISK, [json.dumps(first, indent=2)])
    assert info.value.line == 1

    def exploding():
        yield first
        raise KeyError("from the generator")

    with pytest.raises(KeyError, match="from the generator"):
        rpl.backtest(RISK, exploding())
    with pytest.raises(rpl.InputError) as info:
        rpl.backtest(RISK, [first, "not json"])
    assert info.value.line == 2 and "not JSON" in info.value.message
    with pytest.raises(TypeError):
        rpl.backtest(RISK, first)
    with pytest.raises(OSError):
        rpl.backtest(RISK, stream.parent / "missing.jsonl")
