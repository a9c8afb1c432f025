// What the parts of the page share: the shipped examples, the latest check,
// the saved policy, and the policy being edited.

import type { CheckAnswer, Examples, SavedPolicy, ShippedPolicy } from "./api";

export const state = {
  examples: null as Examples | null,
  /** The shipped policy the draft started from or matches (its suite and cases go with it). */
  shipped: null as ShippedPolicy | null,
  /** The latest check of the text in the editor; null while checking or unreachable. */
  check: null as CheckAnswer | null,
  checkedText: "",
  /** The policy in force on the service, when the page may read it. */
  saved: null as SavedPolicy | null,
  text: "",
};

type Listener = () => void;
const listeners: Record<string, Listener[]> = {};

/** Calls `f` whenever `what` changes. */
export function on(what: "check" | "saved" | "shipped" | "text", f: Listener) {
  (listeners[what] ??= []).push(f);
}

export function changed(what: "check" | "saved" | "shipped" | "text") {
  for (const f of listeners[what] ?? []) f();
}

/** Whether the editor's text has been checked and has no errors. */
export function runnable(): boolean {
  return state.check !== null && state.check.ok && state.checkedText === state.text;
}

export function shippedFloor(): ShippedPolicy | null {
  const path = state.shipped?.floor;
  return state.examples?.policies.find((p) => p.path === path) ?? null;
}
