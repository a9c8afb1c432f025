"""Policies: compiling, diagnostics as the CLI gives them, properties, formatting."""

from __future__ import annotations

import json

import pytest

import rpl
from conftest import POLICIES

BROKEN = """policy "Broken" {
  currency "CNY"
}

rule late {
  when  days_since(order.deliverd_at) > 7
  deny  "too late"
}
"""

WARNS = """policy "Warns" {
  currency "CNY"
}

let unused = 1

rule ok {
  when  return.reason == "changed_mind"
  approve
}
"""


def test_policy_error_carries_every_diagnostic_as_the_cli_does(tmp_path, cli):
    path = tmp_path / "broken.rpl"
    path.write_text(BROKEN)
    with pytest.raises(rpl.PolicyError) as info:
        rpl.Policy.from_file(path)
    diags = info.value.diagnostics
    assert diags, "no diagnostics"
    first = diags[0]
    assert first["file"] == str(path)
    assert (first["line"], first["column"]) == (6, 26)
    assert first["severity"] == "error"
    assert "delivered_at" in (first["hint"] or "")
    assert set(first) >= {"file", "line", "column", "end_line", "end_column", "message", "hint", "severity", "code"}
    # Exactly what `rpl check --error-format json` prints.
    proc = cli("check", "--error-format", "json", path, ok=False)
    assert proc.returncode == 1
    assert [json.loads(line) for line in proc.stdout.splitlines()] == diags
    # str() is the rustc-style rendering `rpl check` prints (before its count of errors).
    assert cli("check", path, ok=False).stderr.startswith(str(info.value) + "\n")


def test_policy_text_names_itself_in_diagnostics():
    with pytest.raises(rpl.PolicyError) as info:
        rpl.Policy(BROKEN, file="inline.rpl")
    assert info.value.diagnostics[0]["file"] == "inline.rpl"
    assert "inline.rpl:6:26" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_syntax_error_has_a_place():
    with pytest.raises(rpl.PolicyError) as info:
        rpl.Policy('policy "x" { currency "CNY" }\nrule r { when approve')
    d = info.value.diagnostics[0]
    assert d["line"] == 2 and d["column"] > 1 and d["severity"] == "error"


def test_check_returns_warnings(tmp_path, cli):
    path = tmp_path / "warns.rpl"
    path.write_text(WARNS)
    warnings = rpl.Policy.from_file(path).check()
    assert warnings and all(w["severity"] == "warning" for w in warnings)
    assert any(w["line"] == 5 for w in warnings)
    proc = cli("check", "--error-format", "json", path)
    assert [json.loads(line) for line in proc.stdout.splitlines()] == warnings
    assert rpl.Policy.from_file(POLICIES / "risk.rpl").check() == []


def test_properties():
    p = rpl.Policy.from_file(POLICIES / "marketplace.rpl")
    assert p.title == "Marketplace: 7-day no-reason returns"
    assert p.version == "2026.11"
    assert p.currency == "CNY"
    assert p.minor_units == 2
    assert p.timezone == "Asia/Shanghai"
    assert p.file == str(POLICIES / "marketplace.rpl")
    assert "seven_day_no_reason" in p.rules and p.flags == ["serial_returner", "refund_only_habit"]
    assert p.source == (POLICIES / "marketplace.rpl").read_text()
    assert "Marketplace" in repr(p)
    plain = rpl.Policy('policy "P" { currency "JPY" timezone "+09:00" }')
    assert (plain.version, plain.minor_units, plain.timezone, plain.file) == (None, 0, "+09:00", "<policy>")


def test_from_file_errors(tmp_path):
    with pytest.raises(OSError):
        rpl.Policy.from_file(tmp_path / "missing.rpl")
    bad = tmp_path / "latin1.rpl"
    bad.write_bytes(b'policy "caf\xe9" { currency "EUR" }')
    with pytest.raises(ValueError, match="not valid UTF-8"):
        rpl.Policy.from_file(bad)


def test_format_matches_rpl_fmt(cli):
    for path in sorted(POLICIES.glob("*.rpl")):
        text = path.read_text()
        assert rpl.format(text) == cli("fmt", "-", input=text).stdout
    messy = 'policy "x" {currency "CNY"}\nrule   r {when return.reason=="a" approve}'
    assert rpl.format(messy) == cli("fmt", "-", input=messy).stdout
    with pytest.raises(rpl.PolicyError) as info:
        rpl.format("rule {", file="bad.rpl")
    assert info.value.diagnostics[0]["file"] == "bad.rpl"
