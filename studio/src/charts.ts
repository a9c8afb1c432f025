// Charts drawn as SVG by the page: horizontal bars (with their numbers
// written beside them, so they can be read and copied), and paired bars for
// precision and recall.

import { svg } from "./dom";

export interface Bar {
  label: string;
  value: number;
  /** What is written after the bar. */
  text: string;
  color?: string;
  /** A `data-key` for the row, so the row can be found. */
  key?: string;
}

const ROW = 26;
const PAD = 6;
const CHAR = 7.2;

function labelWidth(labels: string[]): number {
  const longest = Math.max(4, ...labels.map((l) => [...l].reduce((n, ch) => n + (ch.charCodeAt(0) > 0x2e80 ? 2 : 1), 0)));
  return Math.min(230, longest * CHAR + 12);
}

export function bars(rows: Bar[], opts: { id?: string; max?: number; title: string }): SVGElement {
  const width = 600;
  const lw = labelWidth(rows.map((r) => r.label));
  const tw = 130;
  const bw = width - lw - tw - PAD * 2;
  const max = opts.max ?? Math.max(1, ...rows.map((r) => r.value));
  const height = rows.length * ROW + PAD * 2;
  return svg(
    "svg",
    { class: "chart", id: opts.id, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": opts.title, preserveAspectRatio: "xMinYMin meet" },
    svg("title", null, opts.title),
    rows.map((r, i) => {
      const y = PAD + i * ROW;
      const w = max > 0 ? Math.max(r.value > 0 ? 2 : 0, (r.value / max) * bw) : 0;
      return svg(
        "g",
        { class: "bar-row", "data-key": r.key ?? r.label, "data-value": r.value },
        svg("text", { x: lw - 8, y: y + ROW / 2, class: "bar-label", "text-anchor": "end", "dominant-baseline": "middle" }, r.label),
        svg("rect", { x: lw, y: y + 4, width: bw, height: ROW - 8, rx: 3, class: "bar-track" }),
        svg("rect", { x: lw, y: y + 4, width: w, height: ROW - 8, rx: 3, class: "bar-fill", fill: r.color ?? "#3b6fd8" }),
        svg("text", { x: lw + bw + 8, y: y + ROW / 2, class: "bar-value", "dominant-baseline": "middle" }, r.text),
      );
    }),
  );
}

export interface Pair {
  label: string;
  a: number | null;
  b: number | null;
  aText: string;
  bText: string;
}

/** Two bars per row on a 0–1 scale (precision and recall), with a legend. */
export function pairs(rows: Pair[], opts: { id?: string; title: string; aName: string; bName: string }): SVGElement {
  const width = 600;
  const lw = labelWidth(rows.map((r) => r.label));
  const tw = 64;
  const bw = width - lw - tw - PAD * 2;
  const rowH = 34;
  const top = 24;
  const height = top + rows.length * rowH + PAD;
  const A = "#3b6fd8";
  const B = "#9b59b6";
  const one = (x: number, y: number, v: number | null, text: string, color: string, cls: string) => [
    svg("rect", { x, y, width: bw, height: 11, rx: 2, class: "bar-track" }),
    v === null ? null : svg("rect", { x, y, width: Math.max(v > 0 ? 2 : 0, v * bw), height: 11, rx: 2, fill: color, class: `bar-fill ${cls}` }),
    svg("text", { x: x + bw + 6, y: y + 6, class: `bar-value ${cls}`, "dominant-baseline": "middle" }, text),
  ];
  return svg(
    "svg",
    { class: "chart", id: opts.id, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": opts.title, preserveAspectRatio: "xMinYMin meet" },
    svg("title", null, opts.title),
    svg("rect", { x: lw, y: 6, width: 10, height: 10, fill: A, rx: 2 }),
    svg("text", { x: lw + 14, y: 11, class: "legend", "dominant-baseline": "middle" }, opts.aName),
    svg("rect", { x: lw + 110, y: 6, width: 10, height: 10, fill: B, rx: 2 }),
    svg("text", { x: lw + 124, y: 11, class: "legend", "dominant-baseline": "middle" }, opts.bName),
    rows.map((r, i) => {
      const y = top + i * rowH;
      return svg(
        "g",
        { class: "pair-row", "data-key": r.label },
        svg("text", { x: lw - 8, y: y + 13, class: "bar-label", "text-anchor": "end", "dominant-baseline": "middle" }, r.label),
        one(lw, y + 1, r.a, r.aText, A, "a"),
        one(lw, y + 14, r.b, r.bText, B, "b"),
      );
    }),
  );
}

export const DECISION_COLORS: Record<string, string> = {
  approve: "#1f9d61",
  partial: "#2a9d8f",
  review: "#d69e2e",
  deny: "#d64545",
};

export const PAYER_COLORS: Record<string, string> = {
  buyer: "#64748b",
  merchant: "#3b6fd8",
  platform: "#7c3aed",
  insurance: "#0e9aa7",
  none: "#a3a3a3",
};
