"""rpl.spark on local[2]: its verdicts equal `rpl backtest --out` return by return."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

import rpl
from conftest import POLICIES, read_jsonl
from test_backtest import RISK, assert_rows_match, stricter

pyspark = pytest.importorskip("pyspark")  # test.sh installs it: nothing is skipped there
from pyspark.sql import SparkSession  # noqa: E402

import rpl.spark as rpl_spark  # noqa: E402

# Counts of the library's plan, not of the verdicts: the Spark summary does not have them.
PLAN_KEYS = {"incremental_aggregates", "rescanned_aggregates"}


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("rpl-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def cli_run(cli, tmp_path: Path, stream: Path, *extra):
    out = tmp_path / "verdicts.jsonl"
    summary = json.loads(cli("backtest", RISK, stream, "--json", "--out", out, "--threads", 2, *extra).stdout)
    return summary, read_jsonl(out)


def local_frame(result) -> pd.DataFrame:
    return result.to_pandas()


@pytest.mark.parametrize("by", ["shard", "customer"])
def test_spark_verdicts_equal_the_cli_return_by_return(spark, cli, tmp_path, stream, by):
    other = stricter(tmp_path)
    summary, rows = cli_run(cli, tmp_path, stream, "--compare", other)
    events = rpl_spark.read_events(spark, stream)
    result = rpl_spark.backtest(events, RISK.read_text(), other.read_text(), by=by)
    frame = local_frame(result)
    assert_rows_match(frame, rows, stream)
    # The same table as rpl.backtest, compared columns included, dtypes aside.
    single = rpl.backtest(RISK, stream, compare=other).verdicts
    assert frame.equals(single)
    # The summary, computed from the verdict rows, is the CLI's.
    assert {k: v for k, v in summary.items() if k not in PLAN_KEYS} == result.summary
    assert result.summary["compare"]["changed"] > 0
    result.verdicts.unpersist()


@pytest.mark.parametrize("by", ["shard", "customer"])
def test_spark_replays_a_returns_life_as_the_cli(spark, cli, tmp_path, life_stream, shop, by):
    from conftest import FLOOR
    from test_backtest import assert_lives_match

    out = tmp_path / "records.jsonl"
    summary = json.loads(cli("backtest", FLOOR, life_stream, "--json", "--out", out, "--compare", shop).stdout)
    # Review decisions and inspections go to their return's customer; each
    # customer's replay times out what was due by the whole stream's end.
    result = rpl_spark.backtest(rpl_spark.read_events(spark, life_stream), FLOOR.read_text(), shop.read_text(), by=by)
    frame = local_frame(result)
    assert_lives_match(frame, read_jsonl(out))
    assert frame.equals(rpl.backtest(FLOOR, life_stream, compare=shop).verdicts)
    assert {k: v for k, v in summary.items() if k not in PLAN_KEYS} == result.summary
    assert result.summary["life"]["timeouts"] > 0
    result.verdicts.unpersist()


def test_read_events_numbers_lines_as_the_cli_does(spark, tmp_path, stream):
    lines = stream.read_text().splitlines()
    with_blanks = tmp_path / "blanks.jsonl"
    with_blanks.write_text("\n".join(lines[:50] + ["", "  "] + lines[50:]) + "\n")
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(32 * 1024))  # several partitions
    try:
        events = rpl_spark.read_events(spark, with_blanks)
        assert events.rdd.getNumPartitions() > 3
        got = {r["line"]: r["value"] for r in events.collect()}
        text = with_blanks.read_text().splitlines()
        assert got == {i + 1: t for i, t in enumerate(text)}
        # Two files are numbered on, as if concatenated.
        halves = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
        halves[0].write_text("\n".join(lines[:300]) + "\n")
        halves[1].write_text("\n".join(lines[300:]) + "\n")
        both = {r["line"]: r["value"] for r in rpl_spark.read_events(spark, halves).collect()}
        assert both == {i + 1: t for i, t in enumerate(lines)}
        result = rpl_spark.backtest(rpl_spark.read_events(spark, halves), RISK.read_text())
        assert local_frame(result)["line"].tolist() == rpl.backtest(RISK, stream).verdicts["line"].tolist()
        result.verdicts.unpersist()
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)


def test_spark_read_json_form(spark, cli, tmp_path, stream):
    summary, rows = cli_run(cli, tmp_path, stream)
    result = rpl_spark.backtest(spark.read.json(str(stream)), RISK.read_text())
    assert_rows_match(local_frame(result), rows, stream)
    assert {k: v for k, v in summary.items() if k not in PLAN_KEYS} == result.summary
    result.verdicts.unpersist()
    # Money read as double has lost its decimal text: refused, not guessed.
    doubles = spark.createDataFrame([("order", "O-1", 19.99)], "event string, id string, total double")
    with pytest.raises(ValueError, match="'total' was read as double"):
        rpl_spark.backtest(doubles, RISK.read_text())


def test_the_first_bad_line_stops_the_spark_run_as_it_stops_the_cli(spark, cli, tmp_path, stream):
    lines = stream.read_text().splitlines()
    returns = [i for i, line in enumerate(lines) if json.loads(line)["event"] == "return"]
    broken = list(lines)
    bad = json.loads(lines[returns[5]])
    bad["items"][0]["quantity"] = 0
    broken[returns[5]] = json.dumps(bad)
    orphan = json.loads(lines[returns[9]])
    orphan["order_id"] = "O-NOWHERE"
    broken[returns[9]] = json.dumps(orphan)
    broken.insert(returns[12], "{not json")
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(broken) + "\n")
    with pytest.raises(rpl.InputError) as local:
        rpl.backtest(RISK, path)
    a = local.value
    assert (a.line, a.path) == (returns[5] + 1, "items[0].quantity")
    for by in ("shard", "customer"):
        with pytest.raises(rpl.InputError) as distributed:
            rpl_spark.backtest(rpl_spark.read_events(spark, path), RISK.read_text(), by=by)
        b = distributed.value
        assert (b.line, b.path, b.message) == (a.line, a.path, a.message), by
    # skip_invalid: the same lines listed, with the same reasons, and the rest judged alike.
    summary = json.loads(cli("backtest", RISK, path, "--json", "--skip-invalid").stdout)
    result = rpl_spark.backtest(rpl_spark.read_events(spark, path), RISK.read_text(), skip_invalid=True)
    assert len(summary["invalid"]) == 3
    assert result.summary["invalid"] == summary["invalid"]
    assert {k: v for k, v in summary.items() if k not in PLAN_KEYS} == result.summary
    assert local_frame(result).equals(rpl.backtest(RISK, path, skip_invalid=True).verdicts)
    result.verdicts.unpersist()


def test_routing_sends_every_event_to_its_customer(spark):
    lines = [
        '{"event": "customer", "id": "C-1"}',
        '{"event": "order", "id": "O-1", "customer_id": "C-1"}',
        '{"event": "order", "id": "O-2", "customer_id": "C-2"}',
        '{"event": "return", "id": "R-1", "order_id": "O-2"}',
        # Order updates (the data-contract issue) go with their order's customer, by its id.
        '{"event": "order_update", "id": "O-1", "at": "2026-01-02T00:00:00Z"}',
        # A second order with a used id goes to the first one's customer, whose replay refuses it.
        '{"event": "order", "id": "O-1", "customer_id": "C-9"}',
        '{"event": "return", "id": "R-2", "order_id": "O-NONE"}',
        "{not json",
        "",
    ]
    events = spark.createDataFrame([(i + 1, t) for i, t in enumerate(lines)], "line long, value string")
    keys = {r["line"]: r[rpl_spark._KEY] for r in rpl_spark._routed(events).collect()}
    assert keys == {1: "C-1", 2: "C-1", 3: "C-2", 4: "C-2", 5: "C-1", 6: "C-1", 7: None, 8: None}
