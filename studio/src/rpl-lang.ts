// rpl for CodeMirror: a stream tokenizer following grammar/rpl.pest (its
// keywords, strings with escapes, numbers, percentages, durations, comments,
// field paths), a highlight style, indentation by braces, and completions
// (keywords, functions, the fields a policy can read, the names it defines,
// and inside strings the words its fields take).

import { HighlightStyle, StreamLanguage, syntaxHighlighting, syntaxTree } from "@codemirror/language";
import type { CompletionContext, CompletionResult, Completion } from "@codemirror/autocomplete";
import { tags } from "@lezer/highlight";

const KEYWORDS = new Set([
  "policy", "set", "let", "values", "flag", "rule", "shipping", "refund", "when", "unless", "otherwise",
  "deduct", "as", "score", "note", "and", "or", "not", "in", "is", "missing", "present", "if", "then",
  "else", "of", "last", "where",
]);
const DECISIONS = new Set(["approve", "deny", "review"]);
const HEADER = new Set(["currency", "timezone", "version", "default"]);
const ATOMS = new Set(["true", "false"]);
const PAYERS = new Set(["buyer", "merchant", "platform", "insurance"]);
const FUNCTIONS = [
  "days_since", "hours_since", "min", "max", "round", "abs", "lower", "len", "ratio", "count", "sum", "time", "date",
];
const ROOTS = new Set(["order", "item", "return", "customer", "now", "risk", "returns", "orders"]);
const UNITS = /^(minutes|minute|hours|hour|days|day|weeks|week)\b/;

interface State {
  /** The next word is a name being defined (after rule, flag, let, set). */
  defining: boolean;
  /** Inside `shipping { … }`, where a row starts with its payer. */
  shipping: boolean;
  depth: number;
  /** A number was just read: a unit may follow. */
  afterNumber: boolean;
}

export const rplLanguage = StreamLanguage.define<State>({
  name: "rpl",
  startState: () => ({ defining: false, shipping: false, depth: 0, afterNumber: false }),
  copyState: (s) => ({ ...s }),
  token(stream, state) {
    if (stream.eatSpace()) return null;
    const afterNumber = state.afterNumber;
    state.afterNumber = false;
    if (stream.peek() === "#") {
      stream.skipToEnd();
      return "comment";
    }
    if (stream.peek() === '"') {
      stream.next();
      let escaped = false;
      for (;;) {
        const c = stream.next();
        if (c === undefined) break;
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') break;
      }
      return "string";
    }
    if (stream.match(/^\d+(\.\d+)?%/)) return "number";
    if (stream.match(/^\d+(\.\d+)?/)) {
      state.afterNumber = true;
      return "number";
    }
    if (afterNumber && stream.match(UNITS)) return "unit";
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const w = stream.current();
      if (state.defining) {
        state.defining = false;
        return "def";
      }
      if (w === "rule" || w === "flag" || w === "let" || w === "set") {
        state.defining = true;
        return "keyword";
      }
      if (w === "shipping") state.shipping = true;
      if (KEYWORDS.has(w)) return "keyword";
      if (DECISIONS.has(w)) return "decision";
      if (ATOMS.has(w)) return "atom";
      if (state.shipping && PAYERS.has(w)) return "atom";
      if (HEADER.has(w) && state.depth === 1) return "meta";
      if (stream.peek() === "(" && FUNCTIONS.includes(w)) return "builtin";
      if (ROOTS.has(w)) return "variable-2";
      return "variable";
    }
    if (stream.match(/^\.[A-Za-z_][A-Za-z0-9_]*/)) return "property";
    const c = stream.next();
    if (c === "{") state.depth++;
    if (c === "}") {
      state.depth = Math.max(0, state.depth - 1);
      if (state.depth === 0) state.shipping = false;
    }
    if (c && "{}[]()".includes(c)) return "bracket";
    if (c && "=<>!+-*/,".includes(c)) {
      stream.eatWhile(/[=<>]/);
      return "operator";
    }
    return null;
  },
  indent(state, textAfter, cx) {
    const closing = /^\s*[}\]]/.test(textAfter) ? 1 : 0;
    return Math.max(0, state.depth - closing) * cx.unit;
  },
  languageData: {
    commentTokens: { line: "#" },
    // A closing brace typed on a line of its own goes back to its block's indentation.
    indentOnInput: /^\s*[}\]]$/,
    closeBrackets: { brackets: ["(", "[", "{", '"'] },
  },
  tokenTable: {
    unit: tags.unit,
    decision: tags.controlKeyword,
  },
});

export const rplHighlight = syntaxHighlighting(
  HighlightStyle.define([
    { tag: tags.keyword, color: "#5b3cc4", fontWeight: "600" },
    { tag: tags.controlKeyword, color: "#b4235a", fontWeight: "700" },
    { tag: tags.string, color: "#0f7b4f" },
    { tag: tags.number, color: "#b35900" },
    { tag: tags.unit, color: "#b35900", fontStyle: "italic" },
    { tag: tags.comment, color: "#7a8391", fontStyle: "italic" },
    { tag: tags.propertyName, color: "#1d5fb8" },
    { tag: tags.special(tags.variableName), color: "#1d5fb8", fontWeight: "600" },
    { tag: tags.definition(tags.variableName), color: "#1f2933", fontWeight: "700" },
    { tag: tags.atom, color: "#0e7490" },
    { tag: tags.meta, color: "#6d28d9" },
    { tag: tags.standard(tags.variableName), color: "#0e7490" },
    { tag: tags.operator, color: "#4b5563" },
  ]),
);

// -- completions -------------------------------------------------------------

export interface Vocabulary {
  fields: { path: string; type: string; optional: boolean }[];
  /** The words a field takes (`return.reason` → […]), from the last check. */
  values: Record<string, string[]>;
}

const keywordOptions: Completion[] = [...KEYWORDS, ...DECISIONS, ...ATOMS, ...HEADER].map((k) => ({
  label: k,
  type: "keyword",
}));

const functionOptions: Completion[] = FUNCTIONS.map((f) => ({ label: f, type: "function", apply: `${f}(` }));

export function rplCompletions(vocab: () => Vocabulary) {
  return (context: CompletionContext): CompletionResult | null => {
    const node = syntaxTree(context.state).resolveInner(context.pos, -1);
    if (node.name === "comment") return null;
    if (node.name === "string") {
      const word = context.matchBefore(/"[^"\\]*/);
      if (!word) return null;
      const words = new Set(Object.values(vocab().values).flat());
      return {
        from: word.from + 1,
        options: [...words].map((w) => ({ label: w, type: "text" })),
        validFor: /^[^"\\]*$/,
      };
    }
    const word = context.matchBefore(/[A-Za-z_][\w.]*/);
    if (!word && !context.explicit) return null;
    const from = word ? word.from : context.pos;
    const text = context.state.doc.toString();
    const defined: Completion[] = [];
    for (const m of text.matchAll(/^\s*(set|let)\s+([A-Za-z_]\w*)/gm)) {
      defined.push({ label: m[2], type: m[1] === "set" ? "constant" : "variable", detail: m[1] });
    }
    const fields: Completion[] = vocab().fields.map((f) => ({
      label: f.path,
      type: "property",
      detail: f.optional ? `${f.type}, may be missing` : f.type,
    }));
    return {
      from,
      options: [...fields, ...defined, ...functionOptions, ...keywordOptions],
      validFor: /^[\w.]*$/,
    };
  };
}
