// "Tests": the suite of the shipped policy the draft started from (or one
// pasted in), run on the draft as `rpl test` runs it (`POST /v1/test`); each
// failure shows what was expected beside what the draft decides.

import type { EditorView } from "@codemirror/view";
import { post, type TestAnswer, type TestCase } from "./api";
import { byId, clear, h } from "./dom";
import { plainEditor, setText } from "./editor";
import { onLang, t } from "./i18n";
import { on, runnable, state } from "./state";

let suiteView: EditorView;
let suiteText = "";
let suitePath = "policies/studio.test.toml";
let answer: TestAnswer | null = null;
let failure: string | null = null;
let running = false;

export function mountTests(root: HTMLElement) {
  root.append(
    h("div", { class: "label-row" }, h("span", { id: "tests-label" }), h("span", { id: "tests-path", class: "muted" })),
    h("div", { id: "tests-suite", class: "editor editor-suite" }),
    h(
      "div",
      { class: "row actions" },
      h("span", { class: "grow" }),
      h("button", { id: "tests-run", class: "primary", "data-i18n": "tests.run", onclick: () => void run() }),
    ),
    h("div", { id: "tests-result", "aria-live": "polite" }),
  );
  suiteView = plainEditor(byId("tests-suite"), "suite", (text) => {
    suiteText = text;
  });
  on("shipped", () => {
    loadSuite();
    answer = null;
    failure = null;
    render();
  });
  on("check", runState);
  on("text", runState);
  onLang(() => {
    renderLabel();
    runState();
    render();
  });
}

function loadSuite() {
  const suite = state.shipped?.suite;
  suitePath = suite?.path ?? "policies/studio.test.toml";
  setText(suiteView, suite?.source ?? "");
  renderLabel();
}

function renderLabel() {
  const shipped = state.shipped;
  byId("tests-label").textContent = shipped?.suite ? t("tests.shipped", { name: shipped.name }) : t("tests.suite");
  byId("tests-path").textContent = shipped?.suite ? ` ${suitePath}` : ` ${t("tests.noSuite")}`;
}

function runState() {
  const button = byId<HTMLButtonElement>("tests-run");
  button.disabled = running || !runnable();
  button.title = runnable() ? "" : t("try.fixPolicy");
  button.textContent = running ? t("tests.running") : t("tests.run");
}

async function run() {
  running = true;
  runState();
  const a = await post<TestAnswer>("v1/test", { policy: state.text, suite: suiteText, path: suitePath });
  running = false;
  runState();
  if (a.ok) {
    answer = a.body;
    failure = null;
  } else {
    answer = null;
    const detail = (a.error.suite as { message?: string; line?: number; column?: number } | undefined) ?? {};
    const where = detail.line ? `${detail.line}:${detail.column ?? 1}: ` : "";
    failure = a.error.code === "suite_invalid" && detail.message ? `${where}${detail.message}` : a.error.message;
  }
  render();
}

function sideBySide(c: TestCase): HTMLElement | null {
  if (c.outcome === "failed" && c.mismatches) {
    return h(
      "table",
      { class: "grid compact side-by-side" },
      h("thead", null, h("tr", null, h("th", null, t("tests.key")), h("th", null, t("tests.expected")), h("th", null, t("tests.actual")))),
      h(
        "tbody",
        null,
        c.mismatches.map((m) =>
          h(
            "tr",
            { "data-key": m.key },
            h("td", null, h("code", null, m.key)),
            h("td", { class: "expected" }, h("code", null, m.expected)),
            h("td", { class: "actual" }, h("code", null, m.actual)),
          ),
        ),
      ),
    );
  }
  if (c.outcome === "snapshot_differs" && c.snapshot) {
    const s = c.snapshot;
    return h(
      "div",
      null,
      h("p", { class: "muted" }, s.expected === null ? t("tests.snapshotMissing") : `${t("tests.snapshotDiffers")} (${s.path})`),
      h(
        "div",
        { class: "two-columns" },
        h("div", null, h("h5", null, t("tests.expected")), h("pre", { class: "expected" }, s.expected ?? "")),
        h("div", null, h("h5", null, t("tests.actual")), h("pre", { class: "actual" }, s.actual)),
      ),
    );
  }
  if (c.outcome === "error") return h("pre", { class: "error-text" }, c.error ?? "");
  return null;
}

function render() {
  const out = byId("tests-result");
  if (failure) {
    clear(out, h("div", { class: "notice notice-error", id: "tests-error" }, t("tests.invalid", { message: failure })));
    return;
  }
  if (!answer) {
    clear(out);
    return;
  }
  const a = answer;
  const failed = a.cases.filter((c) => c.outcome !== "passed");
  const passed = a.cases.filter((c) => c.outcome === "passed");
  clear(
    out,
    h(
      "div",
      { class: `tests-summary ${a.failed ? "status-error" : "status-ok"}`, id: "tests-summary", "data-passed": a.passed, "data-failed": a.failed },
      t("tests.summary", { passed: a.passed, failed: a.failed }),
    ),
    failed.map((c) =>
      h(
        "section",
        { class: "card test-failure", "data-case": c.name },
        h("h4", null, h("span", { class: "badge badge-deny" }, c.outcome === "error" ? "error" : "✗"), " ", h("span", { class: "policy-words" }, c.name)),
        sideBySide(c),
      ),
    ),
    passed.length
      ? h(
          "details",
          { class: "card" },
          h("summary", null, `${t("tests.passedList")} (${passed.length})`),
          h("ul", { class: "passed-list" }, passed.map((c) => h("li", null, "✓ ", h("span", { class: "policy-words" }, c.name)))),
        )
      : null,
    h("details", { class: "card" }, h("summary", null, t("tests.report")), h("pre", null, a.report)),
  );
}
