// "Try a case": pick a shipped example or write one, change the common
// fields with a form (which edits the case's JSON), and judge it with the
// policy in the editor (`POST /v1/try`).

import type { EditorView } from "@codemirror/view";
import { post, type TryAnswer } from "./api";
import { byId, clear, h } from "./dom";
import { plainEditor, setText } from "./editor";
import { onLang, t, word } from "./i18n";
import { on, runnable, shippedFloor, state } from "./state";
import { renderVerdict } from "./verdict";

// deno-lint-ignore no-explicit-any
type Json = any;

let caseView: EditorView;
let caseText = "";
let writingFromForm = false;
let lastAnswer: TryAnswer | null = null;
let lastError: string | null = null;

const DEFAULT_TYPES = ["return_refund", "refund_only", "exchange"];

export function mountTry(root: HTMLElement) {
  root.append(
    h(
      "div",
      { class: "row" },
      h("label", { for: "try-example", "data-i18n": "try.example" }),
      h("select", { id: "try-example", class: "grow" }),
    ),
    h("fieldset", { class: "case-form" }, h("legend", { "data-i18n": "try.form" }), h("div", { id: "try-form" })),
    h("div", { class: "label-row" }, h("span", { "data-i18n": "try.json" }), h("span", { id: "try-json-error", class: "error-text" })),
    h("div", { id: "try-case", class: "editor editor-case" }),
    h(
      "div",
      { class: "row actions" },
      h("label", { id: "try-floor-label", class: "check", hidden: true }, h("input", { type: "checkbox", id: "try-floor", checked: true }), h("span", { id: "try-floor-text" })),
      h("span", { class: "grow" }),
      h("button", { id: "try-judge", class: "primary", "data-i18n": "try.judge", onclick: () => void judge() }),
    ),
    h("div", { id: "try-result", "aria-live": "polite" }),
  );
  caseView = plainEditor(byId("try-case"), "case", (text) => {
    caseText = text;
    if (!writingFromForm) renderForm();
  });
  byId<HTMLSelectElement>("try-example").addEventListener("change", (e) => {
    const path = (e.target as HTMLSelectElement).value;
    const c = allCases().find((x) => x.path === path);
    if (c) loadCase(c.source);
  });
  on("shipped", () => {
    renderExamples(true);
    renderFloor();
  });
  on("check", () => {
    renderForm();
    renderJudgeState();
  });
  on("text", renderJudgeState);
  onLang(() => {
    renderExamples(false);
    renderForm();
    renderFloor();
    renderResult();
  });
}

function allCases() {
  return (state.examples?.policies ?? []).flatMap((p) => p.cases);
}

function renderExamples(pickFirst: boolean) {
  const select = byId<HTMLSelectElement>("try-example");
  const chosen = select.value;
  const own = state.shipped?.cases ?? [];
  const others = (state.examples?.policies ?? []).filter((p) => p !== state.shipped && p.cases.length);
  clear(
    select,
    h("option", { value: "" }, t("try.exampleNone")),
    own.map((c) => h("option", { value: c.path }, c.title)),
    others.length
      ? h("optgroup", { label: t("try.others") }, others.flatMap((p) => p.cases.map((c) => h("option", { value: c.path }, `${p.name}: ${c.title}`))))
      : null,
  );
  if (pickFirst && own.length) {
    select.value = own[0].path;
    loadCase(own[0].source);
  } else {
    select.value = chosen;
  }
}

function renderFloor() {
  const floor = shippedFloor();
  const label = byId("try-floor-label");
  label.hidden = !floor;
  if (floor) byId("try-floor-text").textContent = t("try.floor", { path: floor.path });
}

function loadCase(source: string) {
  lastAnswer = null;
  lastError = null;
  renderResult();
  setText(caseView, source);
}

function parsed(): { ok: true; value: Json } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(caseText) };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

/** Applies `edit` to the case and writes its JSON back, keeping the form as it is. */
function edit(edit: (c: Json) => void) {
  const p = parsed();
  if (!p.ok) return;
  edit(p.value);
  writingFromForm = true;
  setText(caseView, JSON.stringify(p.value, null, 2) + "\n");
  writingFromForm = false;
}

// Times keep their own offset: the form edits the wall-clock part only.
const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function localPart(v: unknown): string {
  const m = typeof v === "string" ? v.match(TIME) : null;
  return m ? m[1] : "";
}

function withLocal(old: unknown, local: string, fallbackOffset: string): string {
  const m = typeof old === "string" ? old.match(TIME) : null;
  return `${local}${m?.[2] ?? ":00"}${m?.[3] ?? fallbackOffset}`;
}

function offsetOf(c: Json): string {
  const m = String(c?.return?.requested_at ?? c?.order?.placed_at ?? "").match(TIME);
  return m?.[3] ?? "+08:00";
}

/** A select of the words a field takes (with the current word kept), or a text box when the policy declares none. */
function choice(id: string, words: string[] | undefined, value: string, onChange: (v: string) => void, label?: (w: string) => string) {
  if (!words || words.length === 0) {
    return h("input", { id, type: "text", value, onchange: (e: Event) => onChange((e.target as HTMLInputElement).value) });
  }
  const all = words.includes(value) || value === "" ? words : [value, ...words];
  const select = h(
    "select",
    { id, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) },
    all.map((w) => h("option", { value: w }, label ? `${label(w)} (${w})` : w)),
  );
  select.value = value;
  return select;
}

function renderForm() {
  const form = document.getElementById("try-form");
  if (!form) return;
  const p = parsed();
  const err = byId("try-json-error");
  if (!p.ok) {
    err.textContent = caseText.trim() ? t("try.jsonBad", { message: p.message }) : "";
    form.classList.add("disabled");
    return;
  }
  err.textContent = "";
  form.classList.remove("disabled");
  const c = p.value ?? {};
  const values = state.check?.values ?? {};
  const ret = c.return ?? {};
  const order = c.order ?? {};
  const offset = offsetOf(c);
  const field = (key: Parameters<typeof t>[0], input: HTMLElement) => h("label", { class: "field" }, h("span", null, t(key)), input);
  const delivered = typeof order.delivered_at === "string";
  const items: Json[] = Array.isArray(ret.items) ? ret.items : [];
  const orderItem = (sku: string) => (Array.isArray(order.items) ? order.items.find((i: Json) => i?.sku === sku) : undefined);
  clear(
    form,
    h(
      "div",
      { class: "form-grid" },
      field(
        "try.reason",
        choice("try-reason", values["return.reason"], String(ret.reason ?? ""), (v) => edit((x) => ((x.return ??= {}).reason = v))),
      ),
      field(
        "try.type",
        choice("try-type", values["return.type"] ?? DEFAULT_TYPES, String(ret.type ?? ""), (v) => edit((x) => ((x.return ??= {}).type = v)), (w) => word("type", w)),
      ),
      field(
        "try.requested",
        h("input", {
          id: "try-requested",
          type: "datetime-local",
          value: localPart(ret.requested_at),
          onchange: (e: Event) => {
            const v = (e.target as HTMLInputElement).value;
            if (v) edit((x) => ((x.return ??= {}).requested_at = withLocal(x.return.requested_at, v, offset)));
          },
        }),
      ),
      h(
        "label",
        { class: "field" },
        h("span", null, t("try.delivered")),
        h(
          "span",
          { class: "inline" },
          h("input", {
            id: "try-delivered",
            type: "datetime-local",
            value: localPart(order.delivered_at),
            disabled: !delivered,
            onchange: (e: Event) => {
              const v = (e.target as HTMLInputElement).value;
              if (v) edit((x) => ((x.order ??= {}).delivered_at = withLocal(x.order.delivered_at, v, offset)));
            },
          }),
          h(
            "label",
            { class: "check small" },
            h("input", {
              id: "try-not-delivered",
              type: "checkbox",
              checked: !delivered,
              onchange: (e: Event) => {
                const off = (e.target as HTMLInputElement).checked;
                edit((x) => {
                  x.order ??= {};
                  if (off) delete x.order.delivered_at;
                  else x.order.delivered_at = withLocal(x.return?.requested_at, localPart(x.return?.requested_at) || "2026-01-01T00:00", offset);
                });
                renderForm();
              },
            }),
            t("try.notDelivered"),
          ),
        ),
      ),
    ),
    items.length
      ? h(
          "table",
          { class: "grid compact", id: "try-lines" },
          h("thead", null, h("tr", null, h("th", null, t("try.sku")), h("th", null, t("try.category")), h("th", null, t("try.condition")), h("th", { class: "num" }, t("try.quantity")))),
          h(
            "tbody",
            null,
            items.map((it: Json, i: number) => {
              const sku = String(it?.sku ?? "");
              const oi = orderItem(sku);
              return h(
                "tr",
                { "data-sku": sku },
                h("td", null, h("code", null, sku)),
                h(
                  "td",
                  null,
                  oi
                    ? choice(`try-category-${i}`, values["item.category"], String(oi.category ?? ""), (v) =>
                        edit((x) => {
                          const target = x.order.items.find((o: Json) => o?.sku === sku);
                          if (target) target.category = v;
                        }),
                      )
                    : "—",
                ),
                h(
                  "td",
                  null,
                  choice(`try-condition-${i}`, values["item.condition"], String(it?.condition ?? ""), (v) =>
                    edit((x) => {
                      x.return.items[i].condition = v;
                    }),
                  ),
                ),
                h(
                  "td",
                  { class: "num" },
                  h("input", {
                    type: "number",
                    min: 1,
                    class: "qty",
                    value: Number(it?.quantity ?? 1),
                    onchange: (e: Event) => {
                      const n = Number((e.target as HTMLInputElement).value);
                      if (Number.isInteger(n) && n > 0) edit((x) => (x.return.items[i].quantity = n));
                    },
                  }),
                ),
              );
            }),
          ),
        )
      : null,
  );
}

function renderJudgeState() {
  const button = byId<HTMLButtonElement>("try-judge");
  button.disabled = !runnable();
  button.title = runnable() ? "" : t("try.fixPolicy");
}

async function judge() {
  const button = byId<HTMLButtonElement>("try-judge");
  button.disabled = true;
  button.textContent = t("try.judging");
  const floor = shippedFloor();
  const useFloor = floor && byId<HTMLInputElement>("try-floor").checked && !byId("try-floor-label").hidden;
  const answer = await post<TryAnswer>("v1/try", {
    policy: state.text,
    case: caseText,
    ...(useFloor ? { floor: floor.source } : {}),
  });
  button.textContent = t("try.judge");
  renderJudgeState();
  if (answer.ok) {
    lastAnswer = answer.body;
    lastError = null;
  } else {
    lastAnswer = null;
    const e = answer.error;
    const path = (e.error as { path?: string } | undefined)?.path;
    lastError = path !== undefined && e.code === "invalid_input" ? `${path || "(the case)"}: ${(e.error as { message: string }).message}` : e.message;
  }
  renderResult();
}

function renderResult() {
  const out = document.getElementById("try-result");
  if (!out) return;
  if (lastAnswer) clear(out, renderVerdict(lastAnswer));
  else if (lastError) clear(out, h("div", { class: "notice notice-error", id: "try-error" }, t("try.invalid", { message: lastError })));
  else clear(out);
}
