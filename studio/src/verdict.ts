// A verdict for people: the decision, the refund, who pays the return
// shipping and the risk; a table of the lines — decision, refund, deductions,
// the rules that fired and what the customer is told; then why, with the
// values that made each rule fire.

import type { Fired, TryAnswer } from "./api";
import { h } from "./dom";
import { t, word } from "./i18n";

export function badge(decision: string): HTMLElement {
  return h("span", { class: `badge badge-${decision}`, "data-decision": decision }, word("decision", decision));
}

function facts(f: Fired, label?: string): HTMLElement {
  return h(
    "div",
    { class: "fired" },
    h("div", { class: "fired-name" }, label ?? f.name),
    f.facts.length
      ? h(
          "ul",
          { class: "facts" },
          f.facts.map((x) => {
            const depth = x.length - x.trimStart().length;
            return h("li", { style: `padding-left:${depth * 0.5}em` }, h("code", null, x.trim()));
          }),
        )
      : null,
  );
}

export function renderVerdict(a: TryAnswer): HTMLElement {
  const v = a.verdict;
  const overrides = v.lines.some((l) => (l.overrides ?? []).length > 0);
  const summary = h(
    "div",
    { class: "verdict-summary" },
    h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, t("verdict.decision")), h("div", { class: "kpi-value", id: "verdict-decision" }, badge(v.decision))),
    h(
      "div",
      { class: "kpi" },
      h("div", { class: "kpi-label" }, t("verdict.refund")),
      h("div", { class: "kpi-value money", id: "verdict-refund" }, `${v.refund} ${v.currency}`),
    ),
    h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, t("verdict.shipping")), h("div", { class: "kpi-value", id: "verdict-shipping" }, word("payer", v.shipping))),
    h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, t("verdict.risk")), h("div", { class: "kpi-value", id: "verdict-risk" }, String(v.risk))),
  );
  const flags = h(
    "div",
    { class: "flags" },
    h("span", { class: "flags-label" }, `${t("verdict.flags")}: `),
    v.flags.length
      ? v.flags.map((f) => h("span", { class: "chip", title: f.note ?? "" }, `${f.name} ${f.score >= 0 ? "+" : ""}${f.score}`, f.note ? h("span", { class: "chip-note" }, ` — ${f.note}`) : null))
      : h("span", { class: "muted" }, t("verdict.noFlags")),
  );
  const table = h(
    "table",
    { class: "grid verdict-lines", id: "verdict-lines" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", null, t("verdict.line")),
        h("th", null, t("verdict.decision")),
        h("th", { class: "num" }, t("verdict.refund")),
        h("th", null, t("verdict.deductions")),
        h("th", null, t("verdict.rules")),
        overrides ? h("th", null, t("verdict.overrides")) : null,
        h("th", null, t("verdict.message")),
      ),
    ),
    h(
      "tbody",
      null,
      v.lines.map((l) =>
        h(
          "tr",
          { "data-sku": l.sku },
          h("td", null, h("code", null, l.sku)),
          h("td", { class: "line-decision" }, badge(l.decision)),
          h("td", { class: "num money line-refund" }, l.refund),
          h("td", null, l.deductions.length ? l.deductions.map((d) => h("div", null, `${d.label}: −${d.amount}`)) : h("span", { class: "muted" }, "—")),
          h(
            "td",
            { class: "line-rules" },
            l.rules.length
              ? l.rules.map((r) =>
                  h("div", null, r.layer ? h("span", { class: "layer", "data-layer": r.layer }, `${word("layer", r.layer)} `) : null, h("code", null, r.rule), " → ", word("decision", r.effect)),
                )
              : h("span", { class: "muted" }, t("verdict.noRules")),
          ),
          overrides ? h("td", null, (l.overrides ?? []).map((o) => h("div", null, h("code", null, o.floor_rule ?? "(error)")))) : null,
          h("td", { class: "policy-words" }, l.message ?? ""),
        ),
      ),
    ),
  );
  const errors = v.errors.length
    ? h(
        "div",
        { class: "notice notice-warn" },
        h("strong", null, t("verdict.errors")),
        h("ul", null, v.errors.map((e) => h("li", null, h("code", null, e.construct), e.sku ? ` (${e.sku})` : "", `: ${e.message}`))),
      )
    : null;
  const x = a.explanation;
  const why = h(
    "div",
    { class: "explain", id: "verdict-explain" },
    h("h3", null, t("explain.title")),
    x.shipping ? h("div", { class: "explain-part" }, h("h4", null, `${t("explain.shipping")}: ${word("payer", v.shipping)}`), facts(x.shipping)) : null,
    x.flags.length ? h("div", { class: "explain-part" }, h("h4", null, t("explain.flags")), x.flags.map((f) => facts(f))) : null,
    x.lines.map((l) =>
      h(
        "div",
        { class: "explain-part" },
        h("h4", null, h("code", null, l.sku)),
        l.rules.map((r) => facts(r, `rule ${r.name}`)),
        l.refund ? facts(l.refund, `${t("explain.refundRow")}: ${l.refund.name}`) : null,
      ),
    ),
    h("details", { class: "explain-text" }, h("summary", null, t("explain.text")), h("pre", null, a.explanation_text)),
  );
  return h("div", { class: "verdict" }, summary, flags, table, errors, why);
}
