// "Replay history": run the policy in the editor over a generated or
// uploaded event stream (`POST /v1/replay`, which answers progress lines and
// then the summary of `rpl backtest --json`), and, against the saved
// version, see what the change would have changed.
//
// The service replays `rpl backtest DRAFT --compare SAVED`: the summary is
// the draft's, and the comparison's "from" is the draft's decision, "to" the
// saved one's. The page shows moves the way a merchant reads them: from the
// saved version to this draft.

import { type Labels, postLines, type ReplayDone, type Score } from "./api";
import { type Bar, bars, DECISION_COLORS, PAYER_COLORS, pairs } from "./charts";
import { byId, clear, h } from "./dom";
import { number, onLang, t, word } from "./i18n";
import { on, runnable, state } from "./state";
import { badge } from "./verdict";

const DECISIONS = ["approve", "partial", "review", "deny"];

let result: ReplayDone | null = null;
let stopped: string | null = null;
let running: AbortController | null = null;
let policyInForce = false;

export function mountReplay(root: HTMLElement) {
  const num = (id: string, value: number, max: number) => h("input", { id, type: "number", min: 1, max, value, class: "num-input" });
  root.append(
    h(
      "fieldset",
      { class: "replay-source" },
      h("legend", { "data-i18n": "replay.source" }),
      h(
        "label",
        { class: "check" },
        h("input", { type: "radio", name: "replay-source", id: "replay-gen", value: "generate", checked: true, onchange: sourceChanged }),
        h("span", { "data-i18n": "replay.generate" }),
      ),
      h(
        "div",
        { class: "row indent", id: "replay-gen-fields" },
        h("label", { class: "field small" }, h("span", { "data-i18n": "replay.customers" }), num("replay-customers", 300, 200000)),
        h("label", { class: "field small" }, h("span", { "data-i18n": "replay.days" }), num("replay-days", 60, 3650)),
        h("label", { class: "field small" }, h("span", { "data-i18n": "replay.seed" }), num("replay-seed", 1, 1e12)),
      ),
      h(
        "label",
        { class: "check" },
        h("input", { type: "radio", name: "replay-source", id: "replay-up", value: "upload", onchange: sourceChanged }),
        h("span", { "data-i18n": "replay.upload" }),
      ),
      h("div", { class: "row indent", id: "replay-up-fields", hidden: true }, h("input", { type: "file", id: "replay-file", accept: ".jsonl,.ndjson,.json,.txt" })),
    ),
    h(
      "div",
      { class: "row" },
      h("label", { class: "check" }, h("input", { type: "checkbox", id: "replay-compare", checked: true }), h("span", { "data-i18n": "replay.compare" })),
      h("span", { id: "replay-compare-note", class: "muted" }),
      h("label", { class: "check" }, h("input", { type: "checkbox", id: "replay-skip", checked: true }), h("span", { "data-i18n": "replay.skip" })),
      h("span", { class: "grow" }),
      h("button", { id: "replay-cancel", class: "secondary", hidden: true, "data-i18n": "replay.cancel", onclick: () => running?.abort() }),
      h("button", { id: "replay-run", class: "primary", "data-i18n": "replay.run", onclick: () => void run() }),
    ),
    h(
      "div",
      { id: "replay-progress", class: "progress", hidden: true, role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 },
      h("div", { class: "progress-bar", id: "replay-progress-bar" }),
      h("div", { class: "progress-text", id: "replay-progress-text" }),
    ),
    h("div", { id: "replay-result", "aria-live": "polite" }),
  );
  on("check", runState);
  on("text", runState);
  on("saved", runState);
  onLang(() => {
    runState();
    render();
  });
}

/** Whether a policy is in force on the service (open to read at /healthz). */
export function setPolicyInForce(yes: boolean) {
  policyInForce = yes;
  runState();
}

/** A policy is in force once the service said so, or once one was saved or read. */
function inForce(): boolean {
  return policyInForce || state.saved !== null;
}

function sourceChanged() {
  const gen = byId<HTMLInputElement>("replay-gen").checked;
  byId("replay-gen-fields").hidden = !gen;
  byId("replay-up-fields").hidden = gen;
}

function runState() {
  const button = byId<HTMLButtonElement>("replay-run");
  button.disabled = !runnable() || running !== null;
  button.title = runnable() ? "" : t("try.fixPolicy");
  const compare = byId<HTMLInputElement>("replay-compare");
  compare.disabled = !inForce();
  byId("replay-compare-note").textContent = inForce() ? "" : t("replay.compareNeedsSaved");
}

function intOf(id: string, fallback: number): number {
  const n = Number(byId<HTMLInputElement>(id).value);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
}

async function run() {
  const body: Record<string, unknown> = { policy: state.text, skip_invalid: byId<HTMLInputElement>("replay-skip").checked };
  if (byId<HTMLInputElement>("replay-compare").checked && inForce()) body.compare = "saved";
  if (byId<HTMLInputElement>("replay-gen").checked) {
    body.generate = { customers: intOf("replay-customers", 300), days: intOf("replay-days", 60), seed: intOf("replay-seed", 1) };
  } else {
    const file = byId<HTMLInputElement>("replay-file").files?.[0];
    if (!file) {
      stopped = t("replay.noFile");
      result = null;
      render();
      return;
    }
    body.events = await file.text();
  }
  result = null;
  stopped = null;
  render();
  running = new AbortController();
  const progress = byId("replay-progress");
  progress.hidden = false;
  progress.dataset.state = "running";
  setProgress(0, t("replay.running", { lines: 0, returns: 0 }));
  byId("replay-cancel").hidden = false;
  runState();
  const answer = await postLines(
    "v1/replay",
    body,
    (line) => {
      if (line.progress) {
        const p = line.progress as { lines: number; bytes: number; returns: number; total_bytes: number };
        setProgress(p.total_bytes ? p.bytes / p.total_bytes : 0, t("replay.running", { lines: number(p.lines), returns: number(p.returns) }));
      } else if (line.summary) {
        result = line as unknown as ReplayDone;
      } else if (line.error) {
        stopped = (line.error as { message: string }).message;
      }
    },
    running.signal,
  );
  if (!answer.ok) stopped = answer.error.code === "network" && running.signal.aborted ? t("replay.cancel") : answer.error.message;
  running = null;
  byId("replay-cancel").hidden = true;
  // Set by the callback above, which the compiler does not follow.
  const done = result as ReplayDone | null;
  progress.dataset.state = done ? "done" : "stopped";
  if (done) {
    const s = done.summary;
    setProgress(1, t("replay.done", { lines: number(s.lines), customers: number(s.customers), orders: number(s.orders), returns: number(s.returns) }));
  } else {
    setProgress(0, t("replay.stopped", { message: stopped ?? "" }));
  }
  runState();
  render();
}

function setProgress(share: number, text: string) {
  const pct = Math.round(Math.min(1, Math.max(0, share)) * 100);
  byId("replay-progress-bar").style.width = `${pct}%`;
  byId("replay-progress").setAttribute("aria-valuenow", String(pct));
  byId("replay-progress-text").textContent = text;
}

function kpi(label: string, value: string, id: string) {
  return h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, label), h("div", { class: "kpi-value", id }, value));
}

function negate(amount: string): string {
  if (/^-?0(\.0+)?$/.test(amount)) return amount.replace("-", "");
  return amount.startsWith("-") ? amount.slice(1) : `-${amount}`;
}

function pct(n: number, of: number): string {
  return of > 0 ? `${((n * 100) / of).toFixed(1)}%` : "0.0%";
}

function scoreRows(l: Labels) {
  const rows: Score[] = [...l.flags, { ...l.not_approved, name: t("replay.notApproved") }, { ...l.denied, name: t("replay.denied") }];
  return rows;
}

function flagsPart(l: Labels | undefined, id: string) {
  if (!l) return h("p", { class: "muted" }, t("replay.flagsNoLabels"));
  const rows = scoreRows(l);
  return h(
    "div",
    null,
    h("p", { class: "muted", id: `${id}-labels` }, t("replay.labels", { abuse: number(l.abuse), ok: number(l.ok), unlabelled: number(l.unlabelled) })),
    pairs(
      rows.map((r) => ({
        label: r.name,
        a: r.precision === null ? null : Number(r.precision),
        b: r.recall === null ? null : Number(r.recall),
        aText: r.precision ?? "–",
        bText: r.recall ?? "–",
      })),
      { id, title: t("replay.flags"), aName: t("replay.precision"), bName: t("replay.recall") },
    ),
    h(
      "table",
      { class: "grid compact", id: `${id}-table` },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", null, ""),
          h("th", { class: "num" }, t("replay.precision")),
          h("th", { class: "num" }, t("replay.recall")),
          h("th", { class: "num" }, t("replay.caught")),
          h("th", { class: "num" }, t("replay.falseAlarms")),
          h("th", { class: "num" }, t("replay.missed")),
        ),
      ),
      h(
        "tbody",
        null,
        rows.map((r) =>
          h(
            "tr",
            { "data-key": r.name },
            h("td", null, h("code", null, r.name)),
            h("td", { class: "num" }, r.precision ?? "–"),
            h("td", { class: "num" }, r.recall ?? "–"),
            h("td", { class: "num" }, String(r.true_positives)),
            h("td", { class: "num" }, String(r.false_positives)),
            h("td", { class: "num" }, String(r.false_negatives)),
          ),
        ),
      ),
    ),
  );
}

function comparePart(done: ReplayDone) {
  const c = done.summary.compare;
  if (!c) return null;
  const s = done.summary;
  const draft = s.policy.decisions;
  // The comparison's moves leave out returns whose decision stayed; the rest of the matrix follows from the draft's counts.
  const cell = (saved: string, dr: string) => {
    if (saved !== dr) return c.moves.find((m) => m.from === dr && m.to === saved)?.returns ?? 0;
    const out = c.moves.filter((m) => m.from === dr).reduce((n, m) => n + m.returns, 0);
    return (draft[dr] ?? 0) - out;
  };
  const maxMove = Math.max(1, ...c.moves.map((m) => m.returns));
  const currency = s.policy.currency;
  const version = done.stream.compare && "version" in done.stream.compare ? done.stream.compare.version : null;
  return h(
    "section",
    { class: "card", id: "replay-compare-result" },
    h("h3", null, t("replay.vsSaved"), version !== null ? ` (v${version})` : ""),
    h("p", { id: "replay-changed" }, t("replay.changed", { changed: number(c.changed), returns: number(s.returns) })),
    bars(
      [
        { label: t("replay.refundSaved"), value: Number(c.refund_after), text: `${c.refund_after} ${currency}`, color: "#94a3b8", key: "saved" },
        { label: t("replay.refundDraft"), value: Number(c.refund_before), text: `${c.refund_before} ${currency}`, color: "#3b6fd8", key: "draft" },
      ],
      { id: "chart-refund-compare", title: t("replay.refundTotal") },
    ),
    h("p", null, `${t("replay.refundDelta")}: `, h("strong", { id: "replay-refund-delta" }, `${negate(c.refund_delta)} ${currency}`)),
    h("h4", null, t("replay.matrix")),
    c.moves.length === 0 ? h("p", { class: "muted" }, t("replay.matrixNone")) : null,
    h(
      "table",
      { class: "matrix", id: "replay-matrix" },
      h("thead", null, h("tr", null, h("th", null, `${t("replay.savedDecision")} ↓ / ${t("replay.draftDecision")} →`), DECISIONS.map((d) => h("th", null, badge(d))))),
      h(
        "tbody",
        null,
        DECISIONS.map((saved) =>
          h(
            "tr",
            null,
            h("th", null, badge(saved)),
            DECISIONS.map((dr) => {
              const n = cell(saved, dr);
              const moved = saved !== dr && n > 0;
              const alpha = moved ? 0.15 + 0.6 * (n / maxMove) : 0;
              return h(
                "td",
                {
                  class: saved === dr ? "same" : moved ? "moved" : "",
                  "data-from": saved,
                  "data-to": dr,
                  style: moved ? `background: rgba(214, 69, 69, ${alpha.toFixed(2)})` : "",
                },
                number(n),
              );
            }),
          ),
        ),
      ),
    ),
    c.flags_lost.length ? h("p", null, t("replay.flagsGained", { list: c.flags_lost.map((f) => `${f.name} (+${f.fired})`).join(", ") })) : null,
    c.flags_gained.length ? h("p", null, t("replay.flagsLost", { list: c.flags_gained.map((f) => `${f.name} (−${f.fired})`).join(", ") })) : null,
    c.first_changes.length
      ? h(
          "div",
          null,
          h("h4", null, t("replay.firstChanges")),
          h(
            "table",
            { class: "grid compact", id: "replay-first-changes" },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                h("th", { class: "num" }, t("replay.lineNo")),
                h("th", null, t("replay.returnId")),
                h("th", null, t("replay.savedDecision")),
                h("th", null, t("replay.draftDecision")),
              ),
            ),
            h(
              "tbody",
              null,
              c.first_changes.map((x) =>
                h(
                  "tr",
                  null,
                  h("td", { class: "num" }, String(x.line)),
                  h("td", null, h("code", null, x.return_id)),
                  h("td", null, badge(x.to), ` ${x.refund_to}`),
                  h("td", null, badge(x.from), ` ${x.refund_from}`),
                ),
              ),
            ),
          ),
        )
      : null,
    c.labels ? h("div", null, h("h4", null, `${t("replay.flags")} — ${t("replay.savedDecision")}`), flagsPart(c.labels, "chart-flags-saved")) : null,
  );
}

function render() {
  const out = document.getElementById("replay-result");
  if (!out) return;
  if (!result) {
    clear(out, stopped ? h("div", { class: "notice notice-error", id: "replay-error" }, t("replay.stopped", { message: stopped })) : null);
    return;
  }
  const s = result.summary;
  const p = s.policy;
  const total = DECISIONS.reduce((n, d) => n + (p.decisions[d] ?? 0), 0);
  const decisionBars: Bar[] = DECISIONS.map((d) => ({
    label: word("decision", d),
    value: p.decisions[d] ?? 0,
    text: `${number(p.decisions[d] ?? 0)} (${pct(p.decisions[d] ?? 0, total)})`,
    color: DECISION_COLORS[d],
    key: d,
  }));
  const payers = ["buyer", "merchant", "platform", "insurance", "none"];
  clear(
    out,
    h(
      "div",
      { class: "kpis" },
      kpi(t("replay.returns"), number(s.returns), "replay-returns"),
      kpi(t("replay.refundTotal"), `${p.refund_total} ${p.currency}`, "replay-refund-total"),
      kpi(t("replay.invalid"), number(s.invalid.length), "replay-invalid"),
      p.with_errors ? kpi(t("replay.errors"), number(p.with_errors), "replay-with-errors") : null,
    ),
    h("section", { class: "card" }, h("h3", null, t("replay.decisions")), bars(decisionBars, { id: "chart-decisions", title: t("replay.decisions") })),
    h("section", { class: "card" }, h("h3", null, t("replay.flags")), flagsPart(p.labels, "chart-flags")),
    comparePart(result),
    h(
      "section",
      { class: "card" },
      h("h3", null, t("replay.rules")),
      bars(
        p.rules.map((r) => ({ label: r.name, value: r.fired, text: number(r.fired), key: r.name })),
        { id: "chart-rules", title: t("replay.rules") },
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h3", null, t("replay.shipping")),
      bars(
        payers.map((w) => ({ label: word("payer", w), value: p.shipping[w] ?? 0, text: number(p.shipping[w] ?? 0), color: PAYER_COLORS[w], key: w })),
        { id: "chart-shipping", title: t("replay.shipping") },
      ),
    ),
    s.invalid.length
      ? h(
          "details",
          { class: "card" },
          h("summary", null, `${t("replay.invalidList")} (${number(s.invalid.length)})`),
          h("ul", { class: "invalid-lines" }, s.invalid.slice(0, 50).map((x) => h("li", null, `${t("replay.lineNo")} ${x.line}: ${x.reason}`))),
        )
      : null,
  );
}
