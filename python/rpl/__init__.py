"""rpl — the Return Policy Language, from Python.

Merchants write return policies and risk teams write refund-abuse rules as
plain text; rpl checks them, compiles them once, judges return requests with
reasons, and replays histories of customers, orders and returns (backtests).
This package wraps the Rust engine: the verdicts are the ones ``rpl judge``
and ``rpl backtest`` give, byte for byte.

>>> import rpl
>>> policy = rpl.Policy.from_file("policies/marketplace.rpl")
>>> policy.judge(case)["decision"]                      # a dict, or JSON text
'approve'
>>> result = rpl.backtest(policy, "events.jsonl")       # or dicts, or a DataFrame
>>> result.summary["policy"]["decisions"], result.verdicts.shape

Money is exact everywhere: give amounts as ``str``, ``int`` or
``decimal.Decimal``; a float that is not a whole number is refused (its binary
value is not the decimal you meant). Refunds come back as strings ("199.00");
other numbers as ``int`` or ``decimal.Decimal``, never ``float``.

``rpl.spark`` runs the same backtest on Spark, one customer at a time.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Union

from . import _rpl
from ._rpl import InputError, Policy, PolicyError, format, generate

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "Backtest",
    "COMPARE_COLUMNS",
    "InputError",
    "Policy",
    "PolicyError",
    "VERDICT_COLUMNS",
    "backtest",
    "format",
    "generate",
]

__version__ = _rpl.__version__

#: The columns of a backtest's verdict table, in order; with ``compare`` the
#: second policy's ``compare_decision`` … ``compare_errors`` follow.
VERDICT_COLUMNS = [
    "line",  # the return's line in the stream (from 1)
    "return_id",
    "customer_id",
    "order_id",
    "decision",  # approve, partial, review, deny
    "refund",  # exact decimal text in the currency's minor unit ("199.00")
    "shipping",  # who pays return shipping: buyer, merchant, platform, insurance, none
    "risk",  # the sum of the fired flags' scores
    "flags",  # the flags that fired, in declaration order
    "rules",  # the rules that fired on any line, in declaration order
    "errors",  # constructs that could not be evaluated (each sends lines to review)
    "stage",  # where the return's life left it: request, review or inspection
    "final_decision",  # the decision after its reviews, their timeouts and inspections
    "final_refund",  # the refund after them (the request's when nothing followed)
    "label",  # the return's own label: "abuse", "ok" or None
]
_PER_POLICY = ["decision", "refund", "shipping", "risk", "flags", "rules", "errors", "stage", "final_decision", "final_refund"]
COMPARE_COLUMNS = ["compare_" + c for c in _PER_POLICY]


@dataclass(frozen=True)
class Backtest:
    """What a backtest found.

    ``summary`` is the engine's summary (what ``rpl backtest --json`` prints):
    lines, customers, orders, returns, invalid lines, and per policy the
    decisions, refund total, shipping payers, rule and flag counts and
    precision/recall against labels; ``compare`` when a second policy was given.

    ``verdicts`` is a pandas DataFrame with one row per judged return, in
    stream order (columns: ``VERDICT_COLUMNS``, then ``COMPARE_COLUMNS`` when
    comparing). Unpacks as ``summary, verdicts = rpl.backtest(...)``.
    """

    summary: Dict[str, Any]
    verdicts: "pandas.DataFrame"

    def __iter__(self) -> Iterator[Any]:
        return iter((self.summary, self.verdicts))


def _as_policy(p: Union[Policy, str, "os.PathLike[str]"]) -> Policy:
    if isinstance(p, Policy):
        return p
    if isinstance(p, os.PathLike):
        return Policy.from_file(os.fspath(p))
    if isinstance(p, str):
        return Policy(p)
    raise TypeError(f"a policy is an rpl.Policy, policy text (str) or a path (os.PathLike), not {type(p).__name__}")


def _missing(v: Any) -> bool:
    """A DataFrame cell that stands for an absent key."""
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        import pandas as pd

        return v is pd.NA or v is pd.NaT
    except ImportError:  # pragma: no cover
        return False


def _frame_events(df: "pandas.DataFrame") -> Iterator[Union[str, Dict[str, Any]]]:
    """A DataFrame's rows as events, in row order.

    A frame with one column of text (``spark.read.text`` gives ``value``) is
    read as JSON lines. Otherwise each row is an event whose keys are the
    columns; a missing cell (None, NaN, NA, NaT) is an absent key, since a
    frame of mixed events has gaps wherever an event lacks a column.
    """
    columns = list(df.columns)
    if len(columns) == 1:
        for v in df[columns[0]]:
            if isinstance(v, (str, bytes)):
                yield v.decode() if isinstance(v, bytes) else v
            else:
                raise TypeError(
                    f"a one-column frame is read as JSON lines, but column {columns[0]!r} holds a {type(v).__name__}"
                )
        return
    for name in columns:
        if not isinstance(name, str):
            raise TypeError(f"event columns are named by str, found {name!r}")
    step = 4096
    for start in range(0, len(df), step):
        for row in df.iloc[start : start + step].to_dict(orient="records"):
            yield {k: v for k, v in row.items() if not _missing(v)}


def _events(events: Any) -> Any:
    """What ``_rpl.backtest`` reads: a path, or an iterator of dicts and JSON lines."""
    if isinstance(events, (str, os.PathLike)):
        return os.fspath(events)
    try:
        import pandas as pd

        if isinstance(events, pd.DataFrame):
            return _frame_events(events)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(events, (dict, bytes)):
        raise TypeError("events are an iterable of event dicts or JSON lines, a JSON Lines path, or a DataFrame")
    return iter(events)


_PROBE = [
    '{"event": "order", "id": "O-1", "customer_id": "C-1", "currency": "CNY", '
    '"placed_at": "2026-01-01T00:00:00Z", "items": [{"sku": "A", "category": "c", "unit_price": "1.00", "quantity": 1}]}',
    '{"event": "return", "id": "R-1", "order_id": "O-1", "requested_at": "2026-01-02T00:00:00Z", '
    '"type": "return_refund", "reason": "r", "items": [{"sku": "A", "quantity": 1}]}',
]


@functools.lru_cache(maxsize=None)
def _engine_writes_compare() -> bool:
    """Whether the library's verdict records carry the compared policy's
    verdict (the data-contract issue's record form); until they do, the
    second policy is replayed separately (see ``backtest``)."""
    try:
        p = Policy('policy "probe" { currency "CNY" }')
        return _rpl.backtest([p, p], iter(_PROBE))[2]
    except Exception:  # noqa: BLE001 - any doubt means the separate replay, which is always right
        return False


def _status_after(decision: str) -> str:
    # The status a return joins its customer's history with when its event
    # gives none: the library's rule (src/backtest/state.rs, `Shard::ret`).
    return {"approve": "refunded", "deny": "rejected"}.get(decision, "pending")


def backtest(
    policy: Union[Policy, str, "os.PathLike[str]"],
    events: Union[str, "os.PathLike[str]", Iterable[Union[Dict[str, Any], str]], "pandas.DataFrame"],
    compare: Union[Policy, str, "os.PathLike[str]", None] = None,
    *,
    threads: Optional[int] = None,
    skip_invalid: bool = False,
    order_retention_days: int = 180,
    until: Optional[str] = None,
) -> Backtest:
    """Replays a stream of customer, order and return events (``rpl backtest``).

    ``events``: a JSON Lines path (``str`` or ``os.PathLike``), an iterable of
    event dicts or one-line JSON texts in stream order, or a pandas DataFrame
    (one JSON text column, or one column per key). ``policy`` and ``compare``:
    an ``rpl.Policy``, policy text, or a path (``os.PathLike``).

    Each return is judged exactly as ``rpl judge`` would judge the case built
    from the stream so far. With ``compare``, every return is judged by both
    policies on the same history (the first policy's verdicts set the
    statuses of earlier returns, as in ``rpl backtest --compare``).

    A bad line raises ``InputError`` with its ``line`` and JSON ``path``;
    ``skip_invalid=True`` counts, lists (``summary["invalid"]``) and skips bad
    lines instead. ``threads`` defaults to every core; results do not depend
    on it. The GIL is released while the engine runs.

    At the end, the reviews nobody decided that were due by the stream's last
    moment time out (docs/language.md §11.17); ``until`` (an RFC 3339 time)
    is that moment when the events are part of a longer stream (one
    customer's, as ``rpl.spark`` replays them). The table's ``stage``,
    ``final_decision`` and ``final_refund`` say where each return's reviews,
    their timeouts and its inspections left it; the other columns are the
    request's verdict, the one the summary counts.
    """
    import pandas as pd

    first = _as_policy(policy)
    policies = [first] + ([_as_policy(compare)] if compare is not None else [])
    if threads is None:
        threads = os.cpu_count() or 1
    if compare is not None and not _engine_writes_compare() and not isinstance(events, (str, os.PathLike, pd.DataFrame)):
        # Read twice below, while the engine writes only the first policy's verdicts.
        events = list(events)
    opts = dict(threads=threads, skip_invalid=skip_invalid, order_retention_days=order_retention_days, until=until)
    summary, columns, compared = _rpl.backtest(policies, _events(events), **opts)
    if compare is not None and not compared:
        # The engine writes the first policy's verdicts only: replay the
        # second alone, its returns joining history with the statuses the
        # first policy's verdicts gave them — the history it was judged on.
        pin = {line: _status_after(d) for line, d in zip(columns["line"], columns["decision"])}
        _, other, _ = _rpl.backtest(policies[1:], _events(events), pin=pin, **opts)
        if other["line"] != columns["line"] or other["return_id"] != columns["return_id"]:
            raise RuntimeError("the compared policy's replay judged other returns than the first")
        for c in _PER_POLICY:
            columns["compare_" + c] = other[c]
    names = VERDICT_COLUMNS + (COMPARE_COLUMNS if compare is not None else [])
    return Backtest(summary=summary, verdicts=_frame(columns, names))


#: Columns of whole numbers; every other verdict column holds str, lists of str, or None.
INT_COLUMNS = frozenset(["line", "risk", "errors", "compare_risk", "compare_errors"])


def _frame(columns: Dict[str, List[Any]], names: List[str]) -> "pandas.DataFrame":
    """The verdict table with fixed dtypes, even when empty: int64 for whole
    numbers, object (str, list of str, None) for the rest."""
    import pandas as pd

    n = len(columns[names[0]]) if names[0] in columns else 0
    data = {}
    for c in names:
        values = columns.get(c, [None] * n)
        data[c] = pd.Series(values, dtype="int64" if c in INT_COLUMNS and c in columns else object)
    return pd.DataFrame(data, columns=names)
