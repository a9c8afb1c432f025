"""Tune one abuse flag's threshold on history before switching it on.

A notebook-style walk through what a risk analyst does: load a stream of
customers, orders and labelled returns, sweep the threshold of one flag
(`serial_returner`: N or more returns in 30 days), replay the history under
each setting with the real engine, and look at precision and recall — of the
flag itself and of what the policy ends up not approving.

    python examples/tune_threshold.py                      # a generated stream
    python examples/tune_threshold.py --events events.jsonl --out plot.png

Headless runs (CI) need MPLBACKEND=Agg; the plot is saved, never shown.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import pandas as pd

import rpl

HERE = Path(__file__).resolve().parent
POLICY = HERE.parents[1] / "policies" / "risk.rpl"
FLAG = "serial_returner"
# The flag's condition in policies/risk.rpl; the sweep rewrites its number.
CONDITION = re.compile(r"(count\(returns in last 30 days\) >= )(\d+)")


def with_threshold(text: str, n: int) -> str:
    """The policy with the flag's threshold set to n (and nothing else changed)."""
    head, sep, rest = text.partition(f"flag {FLAG} {{")
    assert sep, f"flag {FLAG} not found"
    body, brace, tail = rest.partition("}")
    new_body, count = CONDITION.subn(rf"\g<1>{n}", body)
    assert count == 1, f"expected one threshold in flag {FLAG}"
    return head + sep + new_body + brace + tail


def scores(verdicts: pd.DataFrame) -> dict:
    """Precision and recall of the flag, and of 'not approved', from the verdict rows."""
    labelled = verdicts[verdicts["label"].notna()]
    abuse = labelled["label"] == "abuse"
    out = {}
    for name, caught in (
        (FLAG, labelled["flags"].map(lambda f: FLAG in f)),
        ("not approved", labelled["decision"] != "approve"),
    ):
        tp, fp, fn = int((caught & abuse).sum()), int((caught & ~abuse).sum()), int((~caught & abuse).sum())
        out[name] = {
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "caught": tp,
            "false alarms": fp,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=Path, help="a JSON Lines stream (default: generate one)")
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--thresholds", default="2,3,4,5,6,7,8,10")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "serial_returner_threshold.png")
    args = ap.parse_args()

    events = args.events
    if events is None:
        events = Path(tempfile.mkdtemp()) / "events.jsonl"
        stats = rpl.generate(events, customers=args.customers, days=args.days, seed=1)
        print(f"generated {stats['returns']} returns ({stats['abusive_returns']} labelled abuse) in {events}")

    base = POLICY.read_text()
    rows = []
    for n in (int(x) for x in args.thresholds.split(",")):
        policy = rpl.Policy(with_threshold(base, n), file=f"risk.rpl (threshold {n})")
        summary, verdicts = rpl.backtest(policy, events)
        s = scores(verdicts)
        # The engine's own precision/recall agree with the ones computed here.
        engine = next(f for f in summary["policy"]["labels"]["flags"] if f["name"] == FLAG)
        assert engine["true_positives"] == s[FLAG]["caught"] and engine["false_positives"] == s[FLAG]["false alarms"]
        rows.append(
            {
                "threshold": n,
                "flag precision": s[FLAG]["precision"],
                "flag recall": s[FLAG]["recall"],
                "flag caught": s[FLAG]["caught"],
                "flag false alarms": s[FLAG]["false alarms"],
                "not approved precision": s["not approved"]["precision"],
                "not approved recall": s["not approved"]["recall"],
                "refunds": summary["policy"]["refund_total"],
            }
        )
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(f"\n{FLAG}: count(returns in last 30 days) >= N")
        print(table.to_string(index=False))

    import matplotlib.pyplot as plt  # MPLBACKEND=Agg where there is no display

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(table["threshold"], table["flag precision"], "o-", label="precision")
    left.plot(table["threshold"], table["flag recall"], "s-", label="recall")
    left.set(title=f"{FLAG} alone", xlabel="N returns in 30 days", ylabel="share", ylim=(0, 1.05))
    left.legend()
    left.grid(alpha=0.3)
    right.plot(table["flag recall"], table["flag precision"], "o-")
    for _, r in table.iterrows():
        right.annotate(str(r["threshold"]), (r["flag recall"], r["flag precision"]), textcoords="offset points", xytext=(4, 4))
    right.set(title="precision against recall (labels: N)", xlabel="recall", ylabel="precision", xlim=(0, 1.05), ylim=(0, 1.05))
    right.grid(alpha=0.3)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"\nplot saved to {args.out}")


if __name__ == "__main__":
    main()
