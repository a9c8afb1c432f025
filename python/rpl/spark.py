"""Backtests past one machine: the same engine, one customer at a time, on Spark.

A backtest partitions exactly by customer: a return's case is built from its
order, its customer's latest profile and that customer's earlier orders and
returns — nothing of anyone else's. So the stream is cut by customer, each
customer's events are replayed in stream order by ``rpl.backtest`` inside
``groupBy(customer).applyInPandas``, and the verdicts are those ``rpl backtest``
gives, return by return.

    from rpl import spark as rpl_spark
    events = rpl_spark.read_events(spark, "events.jsonl")       # (line, value)
    result = rpl_spark.backtest(events, open("risk.rpl").read())
    result.verdicts.write.parquet("verdicts/")                    # a Spark DataFrame
    result.summary["policy"]["labels"]["flags"]                   # precision/recall

Routing: a customer event goes by its ``id``, an order by its ``customer_id``,
and a return (by ``order_id``) or an order update (by ``id``) goes with its
order's customer. Lines that route nowhere (not JSON, an unknown order, no
``event``) are replayed together, so the engine itself says what is wrong.

Input forms (``events_df``):

- ``read_events(spark, path)``: every line's exact text and its line number
  (the recommended form: nothing is re-encoded);
- a DataFrame with a string column ``value`` (``spark.read.text``, or JSON
  text from a table), and optionally a ``line`` column giving stream order;
- a DataFrame as ``spark.read.json`` gives it: each row is written back with
  ``to_json`` (null fields dropped, as absent keys). Columns read as
  ``double``/``float`` (numbers with a fraction: their decimal text is gone),
  timestamps or dates are refused; read the stream with ``read_events``, or
  pass ``prefersDecimal=True`` and keep times as strings.

Without a ``line`` column the DataFrame's current order is the stream order.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

import rpl

try:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as e:  # pragma: no cover
    raise ImportError("rpl.spark needs pyspark (pip install 'rpl[spark]')") from e

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["SparkBacktest", "backtest", "read_events"]

# The order the library ranks decisions in (its summary's moves follow it).
_DECISIONS = ["approve", "partial", "review", "deny"]
_FIRST_CHANGES = 20
_KEY = "_rpl_customer"
_ROUTING = "event string, id string, customer_id string, order_id string, return_id string"
# The events of a return's life (docs/language.md §11.17): they name their return.
_LIFE = ("review_decision", "inspection")


@dataclass(frozen=True)
class SparkBacktest:
    """A Spark backtest's results.

    ``verdicts``: a Spark DataFrame, one row per judged return, the columns of
    ``rpl.VERDICT_COLUMNS`` (and ``rpl.COMPARE_COLUMNS`` with ``compare``);
    computed once and persisted — ``unpersist()`` it when done.
    ``summary``: what ``rpl backtest --json`` reports (lines, customers,
    orders, returns, invalid, policy, compare), computed from the verdict rows.
    """

    summary: Dict[str, Any]
    verdicts: DataFrame

    def __iter__(self):
        return iter((self.summary, self.verdicts))

    def to_pandas(self) -> "pandas.DataFrame":
        """The verdicts as ``rpl.backtest`` gives them: in stream order, lists
        as lists (``toPandas`` gives numpy arrays), whole numbers as int64.
        Collects every row to the driver."""
        frame = self.verdicts.toPandas().sort_values("line", kind="stable")
        columns = {c: [list(x) if x is not None and not isinstance(x, str) and hasattr(x, "__len__") else x
                       for x in frame[c]] if c.endswith(("flags", "rules")) else frame[c].tolist()
                   for c in frame.columns}
        return rpl._frame(columns, list(frame.columns))


def _number_lines(df: DataFrame, first: int = 1) -> DataFrame:
    """Numbers rows in the DataFrame's order, from `first`, without a pass through Python.

    ``monotonically_increasing_id`` is the partition index shifted by 33 bits
    plus the row's place in its partition; with each partition's row count,
    that gives every row's place in the whole.
    """
    tagged = df.select(
        F.spark_partition_id().alias("_pid"), F.monotonically_increasing_id().alias("_mid"), *df.columns
    )
    counts = {r["_pid"]: r["count"] for r in tagged.groupBy("_pid").count().collect()}
    offsets, total = {}, first
    for pid in sorted(counts):
        offsets[pid] = total
        total += counts[pid]
    spark = df.sparkSession
    base = spark.createDataFrame(
        [(pid, off) for pid, off in offsets.items()] or [(0, first)], "_pid int, _base long"
    )
    numbered = tagged.join(F.broadcast(base), "_pid").withColumn(
        "line", F.col("_base") + (F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33))
    )
    return numbered.drop("_pid", "_mid", "_base")


def read_events(spark: SparkSession, path: Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]) -> DataFrame:
    """JSON Lines as ``(line, value)``: each line's exact text, numbered from 1
    as ``rpl backtest`` numbers them (blank lines count). Several files are
    numbered on as if concatenated in the order given."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    frames, first = [], 1
    for p in paths:
        text = spark.read.text(os.fspath(p))
        numbered = _number_lines(text, first).select("line", "value")
        frames.append(numbered)
        first += text.count()
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def _refuse_inexact(schema: T.StructType, where: str = "") -> None:
    for field in schema.fields:
        name = f"{where}{field.name}"
        t = field.dataType
        while isinstance(t, (T.ArrayType, T.MapType)):
            t = t.elementType if isinstance(t, T.ArrayType) else t.valueType
        if isinstance(t, T.StructType):
            _refuse_inexact(t, name + ".")
        elif isinstance(t, (T.DoubleType, T.FloatType)):
            raise ValueError(
                f"column {name!r} was read as {t.simpleString()}: the exact decimal text of its values is gone. "
                "Read the stream with rpl.spark.read_events(spark, path) (or spark.read.text), "
                "or spark.read.json(path, prefersDecimal=True)"
            )
        elif isinstance(t, (T.TimestampType, T.DateType)) or t.typeName() == "timestamp_ntz":
            raise ValueError(
                f"column {name!r} was read as {t.simpleString()}: times must stay RFC 3339 text with their offset. "
                "Read the stream with rpl.spark.read_events(spark, path), or without timestamp inference"
            )


def _as_text(events: DataFrame) -> DataFrame:
    """``(line, value)``: each event's JSON text and its place in the stream."""
    has_line = "line" in events.columns
    data = [c for c in events.columns if c != "line"]
    strings = [f.name for f in events.schema.fields if f.name != "line" and isinstance(f.dataType, T.StringType)]
    if "value" in data and isinstance(events.schema["value"].dataType, T.StringType):
        text = events.select(*(["line"] if has_line else []), F.col("value"))
    elif len(data) == 1 and strings == data:
        text = events.select(*(["line"] if has_line else []), F.col(data[0]).alias("value"))
    else:
        rest = [c for c in data if c != "_corrupt_record"]
        schema = T.StructType([events.schema[c] for c in rest])
        _refuse_inexact(schema)
        as_json = F.to_json(F.struct(*[F.col(f"`{c}`") for c in rest]))
        if "_corrupt_record" in data:
            # A line spark.read.json could not parse stays as it was, for the engine to word.
            as_json = F.coalesce(F.col("_corrupt_record"), as_json)
        text = events.select(*(["line"] if has_line else []), as_json.alias("value"))
    if not has_line:
        text = _number_lines(text)
    return text.select(F.col("line").cast("long").alias("line"), "value")


def _verdict_schema(compare: bool) -> str:
    per = [
        "decision string",
        "refund string",
        "shipping string",
        "risk long",
        "flags array<string>",
        "rules array<string>",
        "errors long",
        "stage string",
        "final_decision string",
        "final_refund string",
    ]
    cols = ["line long", "return_id string", "customer_id string", "order_id string"] + per + ["label string"]
    if compare:
        cols += ["compare_" + c for c in per]
    return ", ".join(cols + ["error_path string", "error_message string", "summary string"])


_COMPILED: Dict[str, "rpl.Policy"] = {}


def _compiled(text: str) -> "rpl.Policy":
    # Each Python worker compiles a policy once, not once per customer.
    p = _COMPILED.get(text)
    if p is None:
        p = _COMPILED[text] = rpl.Policy(text)
    return p


def _replayer(policy_text: str, compare_text: Optional[str], skip_invalid: bool, retention: int, until: Optional[str]):
    import numpy as np
    import pandas as pd

    columns = rpl.VERDICT_COLUMNS + (rpl.COMPARE_COLUMNS if compare_text is not None else [])
    out_columns = columns + ["error_path", "error_message", "summary"]

    def errors(rows: List[Dict[str, Any]]) -> "pd.DataFrame":
        cols = {c: [r.get(c) for r in rows] for c in ["line", "error_path", "error_message"]}
        return rpl._frame(cols, out_columns)

    def replay(key, pdf: "pd.DataFrame") -> "pd.DataFrame":
        pdf = pdf.sort_values("line", kind="stable")
        lines = pdf["line"].to_numpy(dtype=np.int64)
        texts = pdf["value"].tolist()
        policy = _compiled(policy_text)
        other = _compiled(compare_text) if compare_text is not None else None
        try:
            summary, verdicts = rpl.backtest(
                policy, texts, other, threads=1, skip_invalid=skip_invalid, order_retention_days=retention, until=until
            )
        except rpl.InputError as e:
            at = int(lines[e.line - 1]) if e.line else int(lines[0])
            return errors([{"line": at, "error_path": e.path, "error_message": e.message}])
        if key[0] is None and len(verdicts):
            raise RuntimeError(f"lines {list(verdicts['line'][:5])} were judged but routed to no customer")
        verdicts = verdicts.assign(line=lines[verdicts["line"].to_numpy() - 1])
        verdicts["error_path"] = None
        verdicts["error_message"] = None
        verdicts["summary"] = None
        skipped = [
            {"line": int(lines[i["line"] - 1]), "error_path": None, "error_message": i["reason"]}
            for i in summary["invalid"]
        ]
        if skipped:
            verdicts = pd.concat([verdicts, errors(skipped)], ignore_index=True)
        verdicts = pd.concat([verdicts, _summary_row(summary, out_columns)], ignore_index=True)
        return verdicts[out_columns]

    return replay


def _shard_replayer(policy_text: str, compare_text: Optional[str], skip_invalid: bool, retention: int, until: Optional[str]):
    """Replays one partition: the complete streams of some customers, in line order.

    Customers never share history, so a partition that holds every event of
    its customers, in stream order, is a stream ``rpl backtest`` itself would
    replay alike (its workers own such shards). Its events flow through one
    engine run, batch by batch; only the verdicts are held.
    """
    import numpy as np
    import pandas as pd

    columns = rpl.VERDICT_COLUMNS + (rpl.COMPARE_COLUMNS if compare_text is not None else [])
    out_columns = columns + ["error_path", "error_message", "summary"]

    def run(batches):
        lines: List["np.ndarray"] = []
        unrouted: List["np.ndarray"] = []

        def texts():
            for b in batches:
                lines.append(b["line"].to_numpy(dtype=np.int64))
                unrouted.append(b.loc[b[_KEY].isna(), "line"].to_numpy(dtype=np.int64))
                yield from b["value"].tolist()

        policy = _compiled(policy_text)
        other = _compiled(compare_text) if compare_text is not None else None
        try:
            summary, verdicts = rpl.backtest(
                policy, texts(), other, threads=1, skip_invalid=skip_invalid, order_retention_days=retention, until=until
            )
        except rpl.InputError as e:
            at = np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)
            line = int(at[e.line - 1]) if e.line and e.line <= len(at) else -1
            cols = {"line": [line], "error_path": [e.path], "error_message": [e.message]}
            yield rpl._frame(cols, out_columns)
            return
        if not lines:
            return
        at = np.concatenate(lines)
        verdicts = verdicts.assign(line=at[verdicts["line"].to_numpy() - 1])
        nowhere = set(np.concatenate(unrouted).tolist())
        if nowhere.intersection(verdicts["line"].tolist()):
            raise RuntimeError("a line routed to no customer was judged")
        verdicts["error_path"] = None
        verdicts["error_message"] = None
        verdicts["summary"] = None
        skipped = [i for i in summary["invalid"]]
        if skipped:
            cols = {
                "line": [int(at[i["line"] - 1]) for i in skipped],
                "error_path": [None] * len(skipped),
                "error_message": [i["reason"] for i in skipped],
            }
            verdicts = pd.concat([verdicts, rpl._frame(cols, out_columns)], ignore_index=True)
        verdicts = pd.concat([verdicts, _summary_row(summary, out_columns)], ignore_index=True)
        yield verdicts[out_columns]

    return run


def _summary_row(summary: Dict[str, Any], out_columns: List[str]) -> "pd.DataFrame":
    """One row (every other column null) carrying what a replay counted that
    its verdict rows do not show: order updates, returns on cancelled orders,
    the returns' lives (review decisions, timeouts, inspections,
    restrictions) and the rules fired at inspection."""
    part = {k: summary.get(k) for k in ("order_updates", "cancelled_order_returns", "life")}
    part["rules"] = {r["name"]: r["fired"] for r in summary["policy"]["rules"]}
    return rpl._frame({"line": [-1], "summary": [json.dumps(part)]}, out_columns)


def _merged_parts(parts: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The partitions' counts, summed (each customer's are its own)."""
    out: Dict[str, Any] = {"order_updates": 0, "cancelled_order_returns": 0, "life": None, "rules": {}}
    for p in parts:
        out["order_updates"] += p.get("order_updates") or 0
        out["cancelled_order_returns"] += p.get("cancelled_order_returns") or 0
        if p.get("life"):
            life = out["life"] = out["life"] or {}
            for k, n in p["life"].items():
                life[k] = life.get(k, 0) + n
        for name, n in p["rules"].items():
            out["rules"][name] = out["rules"].get(name, 0) + n
    return out


def _routed(text: DataFrame) -> DataFrame:
    """Each line with the customer whose history it belongs to (null: nobody's)."""
    ev = text.where(F.trim("value") != "").withColumn("_k", F.from_json("value", _ROUTING))
    ev = ev.select("line", "value", F.col("_k.event").alias("_event"), F.col("_k.id").alias("_id"),
                   F.col("_k.customer_id").alias("_cust"), F.col("_k.order_id").alias("_oid"),
                   F.col("_k.return_id").alias("_rid"))
    # An order's customer is that of its first line: a later line reusing the
    # id goes to the same customer, whose replay refuses it as the CLI does.
    owners = (
        ev.where((F.col("_event") == "order") & F.col("_id").isNotNull() & F.col("_cust").isNotNull())
        .groupBy(F.col("_id").alias("_ref"))
        .agg(F.min_by("_cust", "line").alias("_owner"))
    )
    # A review decision or inspection goes with its return's order (that of
    # the return's first line), and so to the same customer.
    orders_of = (
        ev.where((F.col("_event") == "return") & F.col("_id").isNotNull() & F.col("_oid").isNotNull())
        .groupBy(F.col("_id").alias("_rid"))
        .agg(F.min_by("_oid", "line").alias("_roid"))
    )
    ev = ev.join(orders_of, "_rid", "left")
    ref = (
        F.when(F.col("_event") == "return", F.col("_oid"))
        .when(F.col("_event").isin("order", "order_update"), F.col("_id"))
        .when(F.col("_event").isin(*_LIFE), F.col("_roid"))
    )
    joined = ev.withColumn("_ref", ref).join(owners, "_ref", "left")
    key = F.when(F.col("_event") == "customer", F.col("_id")).otherwise(F.col("_owner"))
    return joined.select(key.alias(_KEY), "line", "value", "_event")


def _last_moment(text: DataFrame) -> Optional[str]:
    """The stream's last moment, as its latest event time's own text: each
    customer's replay times out at the end what was due by then, as the one
    replay of the whole stream does (a customer's own events may end sooner)."""
    event = F.get_json_object("value", "$.event")
    at = (
        F.when(event == "order", F.get_json_object("value", "$.placed_at"))
        .when(event == "return", F.get_json_object("value", "$.requested_at"))
        .when(event.isin("order_update", *_LIFE), F.get_json_object("value", "$.at"))
    )
    timed = text.select(at.alias("at")).where(F.col("at").isNotNull())
    row = timed.select(F.max_by("at", F.to_timestamp("at")).alias("last")).collect()[0]
    return row["last"]


def _input_error(line: int, path: Optional[str], message: str) -> "rpl.InputError":
    text = f"line {line}: " + (f"{path}: " if path else "") + message
    e = rpl.InputError(text)
    e.path, e.message, e.line, e.index = path or "", message, line, None
    return e


def _ratio(a: int, b: int) -> Optional[str]:
    if b == 0:
        return None
    return str((Decimal(a) / Decimal(b)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def _money(d: Optional[Decimal], minor: int) -> str:
    d = d if d is not None else Decimal(0)
    return str(d.quantize(Decimal(1).scaleb(-minor), rounding=ROUND_HALF_UP))


def _score(name: str, tp: int, fp: int, fn: int) -> Dict[str, Any]:
    return {
        "name": name,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
    }


def _vocabulary() -> Dict[str, List[str]]:
    """The decisions and payers a summary counts, asked of the engine itself
    (an empty replay lists every one with 0), so the Spark summary has the same keys."""
    global _VOCABULARY
    if _VOCABULARY is None:
        summary = rpl.backtest(rpl.Policy('policy "probe" { currency "CNY" }'), [], threads=1).summary
        _VOCABULARY = {k: list(summary["policy"][k]) for k in ("decisions", "shipping")}
    return _VOCABULARY


_VOCABULARY: Optional[Dict[str, List[str]]] = None


def _policy_summary(v: DataFrame, policy: "rpl.Policy", prefix: str, extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """What ``rpl backtest`` reports for one policy, from its verdict rows
    (one Spark job; ``extra`` aggregates ride along, returned under ``_extra``)."""
    d, flags, rules = F.col(prefix + "decision"), F.col(prefix + "flags"), F.col(prefix + "rules")
    abuse, ok = F.col("label") == "abuse", F.col("label") == "ok"

    def n(cond):
        return F.sum(F.when(cond, 1).otherwise(0))

    aggs = {"returns": F.count(F.lit(1)), "with_errors": n(F.col(prefix + "errors") > 0)}
    aggs["refund"] = F.sum(F.col(prefix + "refund").cast(T.DecimalType(38, policy.minor_units)))
    aggs["abuse"], aggs["ok"] = n(abuse), n(ok)
    words = _vocabulary()
    for i, x in enumerate(words["decisions"]):
        aggs[f"d{i}"] = n(d == x)
    for i, x in enumerate(words["shipping"]):
        aggs[f"s{i}"] = n(F.col(prefix + "shipping") == x)
    for i, name in enumerate(policy.rules):
        aggs[f"r{i}"] = n(F.array_contains(rules, name))
    signals = [(name, F.array_contains(flags, name)) for name in policy.flags]
    signals += [("not approved", d != "approve"), ("denied", d == "deny")]
    for i, (_, caught) in enumerate(signals):
        aggs[f"tp{i}"], aggs[f"fp{i}"], aggs[f"fn{i}"] = n(caught & abuse), n(caught & ok), n(~caught & abuse)
        aggs[f"f{i}"] = n(caught)
    for k, e in (extra or {}).items():
        aggs["x_" + k] = e
    row = v.agg(*[e.alias(k) for k, e in aggs.items()]).collect()[0].asDict()
    out: Dict[str, Any] = {
        "title": policy.title,
        "currency": policy.currency,
        "decisions": {x: row[f"d{i}"] or 0 for i, x in enumerate(words["decisions"])},
        "refund_total": _money(row["refund"], policy.minor_units),
        "shipping": {x: row[f"s{i}"] or 0 for i, x in enumerate(words["shipping"])},
        "rules": [{"name": name, "fired": row[f"r{i}"] or 0} for i, name in enumerate(policy.rules)],
        "flags": [{"name": name, "fired": row[f"f{i}"] or 0} for i, name in enumerate(policy.flags)],
        "with_errors": row["with_errors"] or 0,
    }
    scores = [_score(name, row[f"tp{i}"] or 0, row[f"fp{i}"] or 0, row[f"fn{i}"] or 0) for i, (name, _) in enumerate(signals)]
    if (row["abuse"] or 0) + (row["ok"] or 0) > 0:
        out["labels"] = {
            "abuse": row["abuse"],
            "ok": row["ok"],
            "unlabelled": row["returns"] - row["abuse"] - row["ok"],
            "flags": scores[:-2],
            "not_approved": scores[-2],
            "denied": scores[-1],
        }
    out["_refund"] = row["refund"]
    out["_extra"] = {k: row["x_" + k] for k in (extra or {})}
    return out


def _comparison(v: DataFrame, first: Dict[str, Any], policy: "rpl.Policy", other: "rpl.Policy") -> Dict[str, Any]:
    moved = (F.col("decision") != F.col("compare_decision")) | (F.col("refund") != F.col("compare_refund"))
    after = _policy_summary(v, other, "compare_", {"changed": F.sum(F.when(moved, 1).otherwise(0))})
    order = {x: i for i, x in enumerate(_DECISIONS)}
    moves = [
        {"from": r["decision"], "to": r["compare_decision"], "returns": r["count"]}
        for r in v.where(F.col("decision") != F.col("compare_decision"))
        .groupBy("decision", "compare_decision")
        .count()
        .collect()
    ]
    moves.sort(key=lambda m: (order.get(m["from"], 0), order.get(m["to"], 0)))
    changes = v.where(moved).orderBy("line").limit(_FIRST_CHANGES).collect()
    # Flags that fire under one policy only, counted per return; listed in the
    # order the library meets them (by first line, then declaration order).
    gained = F.array_except(F.col("compare_flags"), F.col("flags"))
    lost = F.array_except(F.col("flags"), F.col("compare_flags"))
    both = v.select(
        "line",
        F.explode(
            F.concat(
                F.transform(gained, lambda n: F.struct(F.lit("gained").alias("kind"), n.alias("name"))),
                F.transform(lost, lambda n: F.struct(F.lit("lost").alias("kind"), n.alias("name"))),
            )
        ).alias("d"),
    )
    drift_rows = (
        both.groupBy("d.kind", "d.name").agg(F.count(F.lit(1)).alias("fired"), F.min("line").alias("first")).collect()
    )

    def drift(kind: str, names: List[str]) -> List[Dict[str, Any]]:
        place = {n: i for i, n in enumerate(names)}
        rows = sorted((r for r in drift_rows if r["kind"] == kind), key=lambda r: (r["first"], place.get(r["name"], len(place))))
        return [{"name": r["name"], "fired": r["fired"]} for r in rows]

    minor = max(policy.minor_units, other.minor_units)
    delta = (after["_refund"] or Decimal(0)) - (first["_refund"] or Decimal(0))
    out = {
        "title": other.title,
        "moves": moves,
        "changed": after["_extra"]["changed"] or 0,
        "refund_before": first["refund_total"],
        "refund_after": after["refund_total"],
        "refund_delta": _money(delta, minor),
        "flags_gained": drift("gained", other.flags),
        "flags_lost": drift("lost", policy.flags),
        "first_changes": [
            {
                "line": r["line"],
                "return_id": r["return_id"],
                "from": r["decision"],
                "to": r["compare_decision"],
                "refund_from": r["refund"],
                "refund_to": r["compare_refund"],
            }
            for r in changes
        ],
    }
    if "labels" in after:
        out["labels"] = after["labels"]
    return out


def backtest(
    events_df: DataFrame,
    policy_text: str,
    compare: Optional[str] = None,
    *,
    skip_invalid: bool = False,
    order_retention_days: int = 180,
    partitions: Optional[int] = None,
    by: str = "shard",
) -> SparkBacktest:
    """Replays an event stream on Spark, one customer per group, with the same
    engine as ``rpl backtest``; returns the verdicts (a persisted Spark
    DataFrame) and the summary.

    ``policy_text`` and ``compare`` are policy texts (they are checked here,
    on the driver, before any job runs). A bad line raises ``rpl.InputError``
    naming its line and JSON path — the first bad line of the stream, as the
    CLI stops at; ``skip_invalid=True`` lists and skips bad lines instead
    (``summary["invalid"]``).

    ``by="shard"`` (the default) hashes customers into ``partitions``
    partitions (default ``spark.sql.shuffle.partitions``), sorts each by line
    and streams it through one engine run: a partition is a stream of whole
    customers, as the CLI's worker shards are. ``by="customer"`` runs
    ``groupBy(customer).applyInPandas``, one engine run per customer, which
    holds each customer's events in memory at once and pays a fixed cost per
    customer (see python/README.md for both measured). The verdicts are the
    same either way.

    One difference from ``rpl backtest``: time order is checked within each
    partition (customer), which is all a verdict depends on, not across the
    whole stream.
    """
    policy = rpl.Policy(policy_text)
    other = rpl.Policy(compare) if compare is not None else None
    text = _as_text(events_df)
    routed = _routed(text)
    until = _last_moment(text)
    schema = _verdict_schema(compare is not None)
    rows = routed.select(_KEY, "line", "value")
    if by == "customer":
        replay = _replayer(policy_text, compare, skip_invalid, order_retention_days, until)
        result = rows.groupBy(_KEY).applyInPandas(replay, schema=schema)
    elif by == "shard":
        n = partitions or int(events_df.sparkSession.conf.get("spark.sql.shuffle.partitions"))
        replay = _shard_replayer(policy_text, compare, skip_invalid, order_retention_days, until)
        result = rows.repartition(n, _KEY).sortWithinPartitions("line").mapInPandas(replay, schema=schema)
    else:
        raise ValueError(f'by must be "shard" or "customer", not {by!r}')
    result = result.persist()
    failed = result.where(F.col("error_message").isNotNull()).select("line", "error_path", "error_message")
    parts = _merged_parts([json.loads(r["summary"]) for r in result.where(F.col("summary").isNotNull()).select("summary").collect()])
    bad = failed.orderBy("line").collect() if skip_invalid else failed.orderBy("line").limit(1).collect()
    if bad and not skip_invalid:
        result.unpersist()
        first = bad[0]
        raise _input_error(first["line"], first["error_path"], first["error_message"])
    verdicts = result.where(F.col("error_message").isNull() & F.col("summary").isNull()).drop(
        "error_path", "error_message", "summary"
    )

    # Lines, and the customer and order events that were not refused, in one pass.
    ok = ~F.col("line").isin([r["line"] for r in bad]) if bad else F.lit(True)
    tally = text.withColumn("_event", F.get_json_object("value", "$.event")).agg(
        F.max("line").alias("lines"),
        F.sum(F.when(ok & (F.col("_event") == "customer"), 1).otherwise(0)).alias("customers"),
        F.sum(F.when(ok & (F.col("_event") == "order"), 1).otherwise(0)).alias("orders"),
    ).collect()[0]
    first_summary = _policy_summary(verdicts, policy, "", {"returns": F.count(F.lit(1))})
    # A rule's count includes its firings at inspection, which the replays counted.
    first_summary["rules"] = [{"name": r["name"], "fired": parts["rules"].get(r["name"], 0)} for r in first_summary["rules"]]
    summary: Dict[str, Any] = {
        "lines": tally["lines"] or 0,
        "customers": tally["customers"] or 0,
        "orders": tally["orders"] or 0,
        "order_updates": parts["order_updates"],
        "returns": first_summary["_extra"].get("returns", 0),
        "cancelled_order_returns": parts["cancelled_order_returns"],
        "invalid": [{"line": r["line"], "reason": r["error_message"]} for r in bad],
        "policy": {k: x for k, x in first_summary.items() if not k.startswith("_")},
    }
    if other is not None:
        summary["compare"] = _comparison(verdicts, first_summary, policy, other)
    if parts["life"] is not None:
        summary["life"] = parts["life"]
    return SparkBacktest(summary=summary, verdicts=verdicts)
