// The policy pane: where to start from (a shipped policy or the saved one),
// the editor with the server's diagnostics, the list of problems below it,
// Format, Download, Save, the platform floor the policy stands on, and the
// draft kept in the browser between visits.

import type { EditorView } from "@codemirror/view";
import { get, post, putText, type CheckAnswer, type Diagnostic, type SavedPolicy } from "./api";
import { byId, clear, h } from "./dom";
import { diagnosticRange, goTo, policyEditor, setText, suggestedFix } from "./editor";
import { codeName, onLang, t } from "./i18n";
import { changed, on, runnable, shippedFloor, state } from "./state";

let view: EditorView;
let checking = false;
let unreachable = false;
let saveMessage: { ok: boolean; text: string } | null = null;
/** The text as last loaded into the editor from a shipped or saved policy. */
let baseText = "";

const DRAFT = "rpl-studio-draft";

export function mountPolicy(root: HTMLElement) {
  root.append(
    h(
      "div",
      { class: "row toolbar" },
      h("label", { for: "policy-pick", "data-i18n": "policy.pick" }),
      h("select", { id: "policy-pick", class: "grow", onchange: pick }),
      h("button", { id: "policy-format", class: "secondary", "data-i18n": "format.button", "data-i18n-title": "format.title", onclick: () => void format() }),
      h("button", { id: "policy-download", class: "secondary", "data-i18n": "download.button", "data-i18n-title": "download.title", onclick: download }),
    ),
    h("div", { id: "draft-notice", class: "notice", hidden: true }),
    h("div", { id: "floor", class: "floor", hidden: true }),
    h(
      "div",
      { class: "status-row" },
      h("span", { id: "check-status", class: "status" }),
      h("span", { class: "grow" }),
      h("span", { id: "save-status", class: "muted" }),
    ),
    h("div", { id: "policy-editor", class: "editor editor-policy" }),
    h(
      "section",
      { class: "problems" },
      h("h3", null, h("span", { "data-i18n": "problems.title" }), " ", h("span", { id: "problems-count", class: "muted" })),
      h("ul", { id: "problems", class: "problem-list" }),
    ),
  );
  view = policyEditor({
    parent: byId("policy-editor"),
    check: async (text) => {
      checking = true;
      renderStatus();
      const answer = await post<CheckAnswer>("v1/check", { policy: text });
      checking = false;
      unreachable = !answer.ok;
      return answer.ok ? answer.body : null;
    },
    onCheck: (answer, text) => {
      state.check = answer;
      state.checkedText = text;
      changed("check");
    },
    onChange: (text) => {
      state.text = text;
      state.check = null;
      saveMessage = null;
      keepDraft(text);
      changed("text");
    },
    vocab: () => ({ fields: state.examples?.fields ?? [], values: state.check?.values ?? {} }),
  });
  on("check", () => {
    renderStatus();
    renderProblems();
    renderSave();
  });
  on("text", () => {
    renderStatus();
    renderSave();
  });
  on("saved", () => {
    renderPicker();
    renderSave();
  });
  on("shipped", renderFloor);
  onLang(() => {
    renderPicker();
    renderStatus();
    renderProblems();
    renderSave();
    renderFloor();
    renderDraftNotice();
  });
}

/** Puts `text` in the editor, as the start of the work (not a draft change). */
export function load(text: string) {
  baseText = text;
  loading = true;
  setText(view, text);
  loading = false;
}

/** Set while `load` puts a text in: that is no draft, and the one kept stays kept. */
let loading = false;

export function editorView(): EditorView {
  return view;
}

function renderPicker() {
  const select = byId<HTMLSelectElement>("policy-pick");
  const chosen = select.value;
  clear(
    select,
    state.saved ? h("option", { value: "saved" }, t("policy.pickSaved", { v: state.saved.version })) : null,
    (state.examples?.policies ?? []).map((p) => h("option", { value: p.path }, `${p.title ?? p.name} (${p.path})`)),
  );
  select.value = chosen || (state.saved ? "saved" : (state.shipped?.path ?? ""));
}

function pick() {
  const select = byId<HTMLSelectElement>("policy-pick");
  const value = select.value;
  const source = value === "saved" ? state.saved?.source : state.examples?.policies.find((p) => p.path === value)?.source;
  if (source === undefined) return;
  if (state.text !== baseText && state.text !== source && !window.confirm(t("policy.confirmReplace", { name: select.selectedOptions[0]?.textContent ?? value }))) {
    return;
  }
  state.shipped = value === "saved" ? matchShipped(source, state.saved?.policy.title) : (state.examples?.policies.find((p) => p.path === value) ?? null);
  changed("shipped");
  load(source);
}

/** The shipped policy a text is, or has the title of: its suite and cases go with it. */
export function matchShipped(source: string, title?: string) {
  const all = state.examples?.policies ?? [];
  return all.find((p) => p.source === source) ?? all.find((p) => title !== undefined && p.title === title) ?? null;
}

function renderStatus() {
  const el = byId("check-status");
  el.className = "status";
  if (unreachable) {
    el.textContent = t("check.unreachable");
    el.classList.add("status-error");
    return;
  }
  const c = state.check;
  if (checking || !c || state.checkedText !== state.text) {
    el.textContent = t("check.checking");
    el.classList.add("status-busy");
    return;
  }
  const parts: string[] = [];
  if (c.errors) parts.push(c.errors === 1 ? t("check.error") : t("check.errors", { n: c.errors }));
  if (c.warnings) parts.push(c.warnings === 1 ? t("check.warning") : t("check.warnings", { n: c.warnings }));
  el.textContent = parts.length ? parts.join(", ") : t("check.clean");
  el.classList.add(c.errors ? "status-error" : c.warnings ? "status-warn" : "status-ok");
  el.dataset.errors = String(c.errors);
  el.dataset.warnings = String(c.warnings);
}

function renderProblems() {
  const list = byId("problems");
  const c = state.check;
  const count = byId("problems-count");
  if (!c || state.checkedText !== state.text) return;
  count.textContent = c.diagnostics.length ? `(${c.diagnostics.length})` : "";
  if (c.diagnostics.length === 0) {
    clear(list, h("li", { class: "problem-none" }, t("problems.none")));
    return;
  }
  clear(list, c.diagnostics.map((d) => problem(d)));
}

function problem(d: Diagnostic): HTMLElement {
  const { from, to } = diagnosticRange(view.state.doc, d);
  const fix = suggestedFix(d.hint, view.state.doc.sliceString(from, to));
  return h(
    "li",
    { class: `problem problem-${d.severity}`, "data-code": d.code },
    h(
      "button",
      { class: "link problem-where", onclick: () => goTo(view, d.line, d.column) },
      h("span", { class: `sev sev-${d.severity}` }, t(`severity.${d.severity}`)),
      ` ${d.line}:${d.column} `,
    ),
    h("code", { class: "problem-code" }, codeName(d.code)),
    " ",
    h("span", { class: "problem-message policy-words" }, d.message),
    d.hint ? h("div", { class: "problem-hint" }, `${t("problems.hint")}: `, h("span", { class: "policy-words" }, d.hint)) : null,
    fix
      ? h(
          "button",
          {
            class: "small secondary problem-fix",
            onclick: () => {
              const r = diagnosticRange(view.state.doc, d);
              view.dispatch({ changes: { from: r.from, to: r.to, insert: fix } });
            },
          },
          t("problems.fix", { fix }),
        )
      : null,
  );
}

async function format() {
  const answer = await post<{ changed: boolean; policy: string }>("v1/fmt", { policy: state.text });
  if (answer.ok) {
    if (answer.body.changed) setText(view, answer.body.policy);
  } else {
    saveMessage = { ok: false, text: answer.error.code === "policy_invalid" ? t("format.failed") : answer.error.message };
    renderSave();
  }
}

function download() {
  const blob = new Blob([state.text], { type: "text/plain;charset=utf-8" });
  const a = h("a", { href: URL.createObjectURL(blob), download: `${state.shipped?.name ?? "policy"}.rpl` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// -- save --------------------------------------------------------------------

export function renderSave() {
  const button = byId<HTMLButtonElement>("save");
  const can = runnable();
  button.disabled = !can || saving;
  button.title = can ? t("save.title") : t("save.disabledErrors");
  const status = byId("save-status");
  const saved = state.saved;
  if (saveMessage) {
    status.textContent = saveMessage.text;
    status.className = saveMessage.ok ? "status-ok" : "status-error";
  } else {
    status.className = "muted";
    status.textContent = saved ? (saved.source === state.text ? t("save.same", { v: saved.version }) : t("save.differs", { v: saved.version })) : "";
  }
}

let saving = false;

export async function save() {
  if (!runnable()) return;
  saving = true;
  renderSave();
  const text = state.text;
  const answer = await putText<{ version: number }>("v1/policy", text);
  saving = false;
  if (answer.ok) {
    saveMessage = { ok: true, text: t("save.done", { v: answer.body.version }) };
    await loadSaved();
    // The editor now holds the saved version.
    byId<HTMLSelectElement>("policy-pick").value = "saved";
    forgetDraft();
    baseText = text;
  } else {
    const e = answer.error;
    const why = e.code === "unauthorized" || e.code === "forbidden" ? `${e.message} — ${t("token.placeholder")}` : e.message;
    saveMessage = { ok: false, text: t("save.failed", { message: why }) };
  }
  renderSave();
}

/** Reads the policy in force (it takes the admin token); null when it cannot. */
export async function loadSaved(): Promise<SavedPolicy | null> {
  const answer = await get<SavedPolicy>("v1/policy");
  state.saved = answer.ok ? answer.body : null;
  changed("saved");
  return state.saved;
}

// -- the floor ---------------------------------------------------------------

function renderFloor() {
  const el = byId("floor");
  const floor = shippedFloor();
  el.hidden = !floor;
  if (!floor) return;
  clear(
    el,
    h("strong", null, `${t("floor.title")}: `),
    h("span", { class: "policy-words", id: "floor-title" }, floor.title ?? floor.name),
    ` (${floor.path}) `,
    h("span", { class: "muted" }, t("floor.note")),
    h("details", null, h("summary", null, t("floor.show")), h("pre", { class: "floor-source" }, floor.source)),
  );
}

// -- the draft ---------------------------------------------------------------

function keepDraft(text: string) {
  if (loading) return;
  try {
    if (text === baseText) localStorage.removeItem(DRAFT);
    else localStorage.setItem(DRAFT, JSON.stringify({ text, base: baseText, at: new Date().toISOString() }));
  } catch {
    // A browser that keeps nothing keeps no draft.
  }
}

function forgetDraft() {
  try {
    localStorage.removeItem(DRAFT);
  } catch {
    // As above.
  }
}

let draft: { text: string; at: string } | null = null;

/** Offers the draft kept from a visit before, if it differs from what was loaded. */
export function offerDraft() {
  try {
    const kept = JSON.parse(localStorage.getItem(DRAFT) ?? "null");
    draft = kept && typeof kept.text === "string" && typeof kept.at === "string" && kept.text !== state.text ? kept : null;
  } catch {
    draft = null;
  }
  renderDraftNotice();
}

function renderDraftNotice() {
  const el = byId("draft-notice");
  el.hidden = !draft;
  if (!draft) return;
  const kept = draft;
  clear(
    el,
    t("draft.found", { time: new Date(kept.at).toLocaleString() }),
    " ",
    h(
      "button",
      {
        class: "small",
        onclick: () => {
          draft = null;
          setText(view, kept.text);
          renderDraftNotice();
        },
      },
      t("draft.restore"),
    ),
    " ",
    h(
      "button",
      {
        class: "small secondary",
        onclick: () => {
          draft = null;
          forgetDraft();
          renderDraftNotice();
        },
      },
      t("draft.discard"),
    ),
  );
}
