"""Measures the Python package against the command line (not a test: numbers, not verdicts).

1. judge_batch against `rpl judge --compact` on the same N cases (JSON Lines),
   for every shipped policy with its example cases, cycled to N.
2. rpl.spark.backtest on local[2] against `rpl backtest --threads 2` on the
   same generated stream (and rpl.backtest, single machine, for reference).

    python bench.py                         # defaults below
    python bench.py --cases 200000 --customers 5000 --days 120

Prints a Markdown table; both sides are checked to give the same verdicts
before any time is reported. Uses the binary at $RPL_BIN (default
$CARGO_TARGET_DIR/release/rpl, or ../target/release/rpl).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rpl

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("RPL_BIN") or Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "rpl")


def timed(f, repeat: int = 3):
    """The best of `repeat` runs: (seconds, result of the last run)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_judge(n: int, work: Path) -> list:
    rows = []
    for folder in ["electronics", "fashion", "marketplace", "risk"]:
        policy_path = ROOT / "policies" / f"{folder}.rpl"
        cases = [json.dumps(json.loads(p.read_text()), ensure_ascii=False) for p in sorted((ROOT / "examples" / folder).glob("*.json"))]
        lines = list(itertools.islice(itertools.cycle(cases), n))
        jsonl = work / f"{folder}.jsonl"
        jsonl.write_text("\n".join(lines) + "\n")
        out = work / f"{folder}.out"

        def cli():
            with open(out, "w") as f:
                subprocess.run([str(BIN), "judge", "--compact", str(policy_path), str(jsonl)], stdout=f, check=True)

        t_cli, _ = timed(cli)
        policy = rpl.Policy.from_file(policy_path)
        t_text, verdicts = timed(lambda: policy.judge_batch(lines))
        dicts = [json.loads(x) for x in lines]
        t_dict, _ = timed(lambda: policy.judge_batch(dicts))
        expected = [json.loads(x) for x in out.read_text().splitlines()]
        assert verdicts == expected, f"{folder}: judge_batch differs from rpl judge"
        rows.append((folder, len(cases), t_cli, t_text, t_dict))
    return rows


def bench_backtest(customers: int, days: int, work: Path, spark_too: bool) -> dict:
    stream = work / "events.jsonl"
    stats = rpl.generate(stream, customers=customers, days=days, seed=1)
    events = sum(1 for _ in open(stream))
    policy_path = ROOT / "policies" / "risk.rpl"
    out = work / "verdicts.jsonl"
    cmd = [str(BIN), "backtest", str(policy_path), str(stream), "--threads", "2", "--out", str(out), "--json"]
    t_cli, proc = timed(lambda: subprocess.run(cmd, capture_output=True, check=True, text=True))
    cli_summary = json.loads(proc.stdout)
    t_py, local = timed(lambda: rpl.backtest(rpl.Policy.from_file(policy_path), stream, threads=2))
    assert local.summary == cli_summary
    result = {"events": events, "bytes": stream.stat().st_size, "returns": stats["returns"], "cli": t_cli, "python": t_py}
    if spark_too:
        os.environ["PYSPARK_PYTHON"] = sys.executable
        from pyspark.sql import SparkSession

        import rpl.spark as rpl_spark

        t0 = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        result["spark_start"] = time.perf_counter() - t0
        text = policy_path.read_text()

        def run():
            r = rpl_spark.backtest(rpl_spark.read_events(spark, stream), text)
            r.verdicts.unpersist()
            return r

        t_spark, r = timed(run, repeat=2)
        expected = {k: v for k, v in cli_summary.items() if k not in ("incremental_aggregates", "rescanned_aggregates")}
        assert r.summary == expected, "the Spark summary differs from rpl backtest's"
        result["spark"] = t_spark
        spark.stop()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()
    assert BIN.exists(), f"build the binary first: cargo build --release ({BIN})"
    work = Path(tempfile.mkdtemp(prefix="rpl-bench-"))
    print(f"judge: {args.cases} cases per policy (the example cases, cycled), best of 3\n")
    print("| policy | distinct cases | `rpl judge --compact` | `judge_batch` (JSON text) | `judge_batch` (dicts) |")
    print("|---|---:|---:|---:|---:|")
    for folder, distinct, t_cli, t_text, t_dict in bench_judge(args.cases, work):
        k = lambda t: f"{args.cases / t / 1000:,.0f} k/s ({t * 1e6 / args.cases:.1f} µs)"  # noqa: E731
        print(f"| {folder} | {distinct} | {k(t_cli)} | {k(t_text)} | {k(t_dict)} |")
    b = bench_backtest(args.customers, args.days, work, not args.no_spark)
    print(f"\nbacktest: policies/risk.rpl over a generated stream of {b['events']:,} events "
          f"({b['bytes'] / 1e6:.0f} MB, {b['returns']:,} returns; {args.customers} customers, {args.days} days)\n")
    print("| run | seconds | events/s |")
    print("|---|---:|---:|")
    print(f"| `rpl backtest --threads 2` | {b['cli']:.2f} | {b['events'] / b['cli'] / 1000:,.0f} k |")
    print(f"| `rpl.backtest(path, threads=2)` | {b['python']:.2f} | {b['events'] / b['python'] / 1000:,.0f} k |")
    if "spark" in b:
        print(f"| `rpl.spark.backtest` on local[2] (session start {b['spark_start']:.1f} s not counted) | {b['spark']:.2f} | {b['events'] / b['spark'] / 1000:,.0f} k |")


if __name__ == "__main__":
    main()
