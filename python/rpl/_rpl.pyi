"""Type stubs for the compiled module rpl._rpl (re-exported by rpl)."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Iterator, List, Literal, Optional, Tuple, Union

__version__: str

Case = Union[Dict[str, Any], str, bytes]
Verdict = Dict[str, Any]
Diagnostic = Dict[str, Any]

class PolicyError(ValueError):
    """A policy that does not check; str() is what `rpl check` prints."""

    diagnostics: List[Diagnostic]
    """Every problem found, in source order: dicts with file, severity, code,
    message, line, column, end_line, end_column and hint (None when rpl has none)."""

class InputError(ValueError):
    """Input that breaks the data contract."""

    path: str
    """The JSON path of the problem ("return.items[0].sku"), "" for the whole input."""
    message: str
    """What is wrong."""
    line: Optional[int]
    """The line of an event stream (from 1), for backtests."""
    index: Optional[int]
    """The position of the case in a batch (from 0), for judge_batch."""

class Policy:
    """A checked, compiled policy, ready to judge. Immutable; safe to share between threads."""

    def __init__(self, text: str, *, file: Optional[str] = None) -> None:
        """Checks and compiles policy text; raises PolicyError. `file` names it in diagnostics."""
    @staticmethod
    def from_file(path: Union[str, os.PathLike[str]]) -> Policy:
        """Reads a UTF-8 policy file and compiles it; diagnostics name the file."""
    @property
    def title(self) -> str: ...
    @property
    def version(self) -> Optional[str]: ...
    @property
    def currency(self) -> str:
        """ISO 4217."""
    @property
    def minor_units(self) -> int:
        """Digits after the decimal point of the currency (CNY 2, JPY 0)."""
    @property
    def timezone(self) -> str:
        """An IANA name ("Asia/Shanghai") or a fixed offset ("+08:00")."""
    @property
    def rules(self) -> List[str]:
        """Rule names in declaration order."""
    @property
    def flags(self) -> List[str]:
        """Flag names in declaration order."""
    @property
    def source(self) -> str: ...
    @property
    def file(self) -> str: ...
    def check(self) -> List[Diagnostic]:
        """The check's warnings (what `rpl check --deny-warnings` fails on)."""
    def judge(self, case: Case, *, explain: bool = False) -> Verdict:
        """The verdict `rpl judge` prints, as a dict; explain=True adds "explanation".
        Raises InputError with the JSON path."""
    def explain(self, case: Case) -> str:
        """The verdict for people, as `rpl judge --explain` prints it."""
    def judge_batch(
        self,
        cases: Iterable[Case],
        *,
        explain: bool = False,
        errors: Literal["raise", "return"] = "raise",
    ) -> List[Verdict]:
        """Verdicts in order, judged with the GIL released. A bad case raises
        InputError (with .index) or, with errors="return", stands in its place as
        {"index": i, "error": {"path": ..., "message": ...}}."""

def format(text: str, *, file: Optional[str] = None) -> str:
    """The canonical layout (`rpl fmt`); raises PolicyError when the text does not parse."""

def generate(
    path: Union[str, os.PathLike[str]],
    *,
    customers: int = 1000,
    days: int = 90,
    seed: int = 1,
    abusers: float = 0.02,
    currency: str = "CNY",
    inspections: bool = False,
) -> Dict[str, int]:
    """Writes a generated event stream (`rpl gen`) and returns its counts;
    ``inspections=True`` adds an inspection per line sent back (`rpl gen --inspections`)."""

def backtest(
    policies: List[Policy],
    events: Union[str, os.PathLike[str], Iterator[Union[Dict[str, Any], str]]],
    *,
    threads: int = 1,
    skip_invalid: bool = False,
    order_retention_days: int = 180,
    pin: Optional[Dict[int, str]] = None,
    until: Optional[str] = None,
) -> Tuple[Dict[str, Any], Dict[str, List[Any]], bool]:
    """The core of rpl.backtest: (summary, columns, compared). Use rpl.backtest."""
