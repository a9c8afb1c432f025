// The policy editor: CodeMirror with rpl highlighting, completions, and the
// server's checker as its linter (squiggles under each diagnostic's span, the
// message, code and hint on hover, a quick fix where the hint names one).

import { EditorState, type Extension, Text } from "@codemirror/state";
import {
  EditorView,
  crosshairCursor,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, indentOnInput, indentUnit } from "@codemirror/language";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { acceptCompletion, autocompletion, closeCompletion, completionKeymap } from "@codemirror/autocomplete";
import { type Diagnostic as CmDiagnostic, lintGutter, linter } from "@codemirror/lint";
import { rplCompletions, rplHighlight, rplLanguage, type Vocabulary } from "./rpl-lang";
import type { CheckAnswer, Diagnostic } from "./api";
import { h } from "./dom";
import { codeName, t } from "./i18n";

/** The offset of a line and a column as rpl counts them (characters from 1, a BOM counting none). */
export function offsetOf(doc: Text, line: number, column: number): number {
  if (line > doc.lines) return doc.length;
  const l = doc.line(Math.max(1, line));
  let at = l.from;
  let text = l.text;
  if (text.startsWith("\uFEFF")) {
    at += 1;
    text = text.slice(1);
  }
  let col = 1;
  for (const ch of text) {
    if (col >= column) break;
    at += ch.length;
    col++;
  }
  return Math.min(at, l.to);
}

/** The replacement a hint names (`did you mean \`X\`?`), fitted to the span it is for. */
export function suggestedFix(hint: string | null, spanText: string): string | null {
  const m = hint?.match(/did you mean `([^`]+)`/);
  if (!m || !spanText) return null;
  let fix = m[1];
  if (fix.includes(".") && !spanText.includes(".")) fix = fix.slice(fix.lastIndexOf(".") + 1);
  return fix === spanText ? null : fix;
}

export function diagnosticRange(doc: Text, d: Diagnostic): { from: number; to: number } {
  const from = offsetOf(doc, d.line, d.column);
  let to = Math.max(from, offsetOf(doc, d.end_line, d.end_column));
  // A point at the end of a line gets the character before it, so it shows.
  if (to === from && from > 0) return { from: from - 1, to };
  return { from, to };
}

function renderMessage(d: Diagnostic): Node {
  return h(
    "div",
    { class: "cm-rpl-diag" },
    h("div", { class: "cm-rpl-diag-head" }, h("span", { class: `sev sev-${d.severity}` }, t(`severity.${d.severity}`)), " ", h("code", null, codeName(d.code))),
    h("div", { class: "cm-rpl-diag-msg" }, d.message),
    d.hint ? h("div", { class: "cm-rpl-diag-hint" }, `${t("problems.hint")}: ${d.hint}`) : null,
  );
}

export function toCm(doc: Text, d: Diagnostic): CmDiagnostic {
  const { from, to } = diagnosticRange(doc, d);
  const fix = suggestedFix(d.hint, doc.sliceString(from, to));
  return {
    from,
    to,
    severity: d.severity === "error" ? "error" : "warning",
    source: d.code,
    message: d.hint ? `${d.message} (${d.hint})` : d.message,
    renderMessage: () => renderMessage(d),
    actions: fix
      ? [
          {
            name: t("problems.fix", { fix }),
            apply: (view, f, to2) => view.dispatch({ changes: { from: f, to: to2, insert: fix } }),
          },
        ]
      : [],
  };
}

export interface PolicyEditorOptions {
  parent: HTMLElement;
  /** Checks the text (`POST /v1/check`); null when the service cannot be reached. */
  check: (text: string) => Promise<CheckAnswer | null>;
  /** The latest check of the text in the editor, once it is known. */
  onCheck: (answer: CheckAnswer | null, text: string) => void;
  /** Every change of the text, before it is checked. */
  onChange: (text: string) => void;
  vocab: () => Vocabulary;
}

export function baseExtensions(): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    drawSelection(),
    dropCursor(),
    EditorState.allowMultipleSelections.of(true),
    indentOnInput(),
    bracketMatching(),
    rectangularSelection(),
    crosshairCursor(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    indentUnit.of("  "),
    EditorView.lineWrapping,
    keymap.of([...defaultKeymap, ...searchKeymap, ...historyKeymap, indentWithTab]),
  ];
}

export function policyEditor(o: PolicyEditorOptions): EditorView {
  const lint = linter(
    async (view) => {
      const text = view.state.doc.toString();
      const answer = await o.check(text);
      // A check of text that has changed since is of no use.
      if (view.state.doc.toString() !== text) return [];
      o.onCheck(answer, text);
      return answer ? answer.diagnostics.map((d) => toCm(view.state.doc, d)) : [];
    },
    { delay: 350 },
  );
  return new EditorView({
    parent: o.parent,
    state: EditorState.create({
      doc: "",
      extensions: [
        // Tab takes a completion when one is offered; Enter is always a new line.
        keymap.of([
          { key: "Tab", run: acceptCompletion },
          { key: "Escape", run: closeCompletion },
        ]),
        autocompletion({
          override: [rplCompletions(o.vocab)],
          defaultKeymap: false,
          icons: false,
        }),
        keymap.of(completionKeymap.filter((k) => k.key !== "Enter")),
        ...baseExtensions(),
        rplLanguage,
        rplHighlight,
        lint,
        lintGutter(),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) o.onChange(u.state.doc.toString());
        }),
        EditorView.contentAttributes.of({ "aria-label": "policy", spellcheck: "false" }),
      ],
    }),
  });
}

/** A plain editor, for a case's JSON or a suite's TOML. */
export function plainEditor(parent: HTMLElement, label: string, onChange: (text: string) => void): EditorView {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: "",
      extensions: [
        ...baseExtensions(),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange(u.state.doc.toString());
        }),
        EditorView.contentAttributes.of({ "aria-label": label, spellcheck: "false" }),
      ],
    }),
  });
}

export function setText(view: EditorView, text: string) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

export function goTo(view: EditorView, line: number, column: number) {
  const at = offsetOf(view.state.doc, line, column);
  view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
  view.focus();
}
