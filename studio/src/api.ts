// The service's endpoints, as the page calls them. Every error the service
// answers is JSON with a stable `code`; a failed fetch is `network`.

export interface ApiError {
  code: string;
  message: string;
  [more: string]: unknown;
}

export type Answer<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: ApiError };

let token = "";

export function setToken(t: string) {
  token = t.trim();
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  if (token) h["Authorization"] = `Bearer ${token}`;
  return h;
}

async function answer<T>(response: Response): Promise<Answer<T>> {
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = { code: "not_json", message: text.slice(0, 300) };
  }
  if (response.ok) return { ok: true, status: response.status, body: body as T };
  return { ok: false, status: response.status, error: body as ApiError };
}

function failed<T>(e: unknown): Answer<T> {
  return { ok: false, status: 0, error: { code: "network", message: String(e) } };
}

// Paths are relative, so the studio also works behind a path prefix.
export async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<Answer<T>> {
  try {
    const r = await fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body),
      signal,
    });
    return await answer<T>(r);
  } catch (e) {
    return failed(e);
  }
}

export async function get<T>(path: string): Promise<Answer<T>> {
  try {
    return await answer<T>(await fetch(path, { headers: headers() }));
  } catch (e) {
    return failed(e);
  }
}

export async function putText<T>(path: string, text: string): Promise<Answer<T>> {
  try {
    const r = await fetch(path, {
      method: "PUT",
      headers: headers({ "Content-Type": "text/plain; charset=utf-8" }),
      body: text,
    });
    return await answer<T>(r);
  } catch (e) {
    return failed(e);
  }
}

/** POSTs and reads the answer as JSON Lines, handing each line over as it comes. */
export async function postLines(
  path: string,
  body: unknown,
  onLine: (v: Record<string, unknown>) => void,
  signal?: AbortSignal,
): Promise<Answer<null>> {
  let r: Response;
  try {
    r = await fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    return failed(e);
  }
  if (!r.ok || !r.body) return answer<null>(r);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) pending += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line) onLine(JSON.parse(line));
      }
      if (done) break;
    }
    if (pending.trim()) onLine(JSON.parse(pending));
  } catch (e) {
    return failed(e);
  }
  return { ok: true, status: r.status, body: null };
}

// -- what the endpoints answer ---------------------------------------------

export interface Diagnostic {
  file: string;
  severity: "error" | "warning";
  code: string;
  message: string;
  line: number;
  column: number;
  end_line: number;
  end_column: number;
  hint: string | null;
}

export interface PolicyId {
  title: string;
  version?: string;
  hash: string;
}

export interface CheckAnswer {
  ok: boolean;
  errors: number;
  warnings: number;
  policy?: PolicyId;
  values?: Record<string, string[]>;
  diagnostics: Diagnostic[];
}

export interface ShippedCase {
  path: string;
  title: string;
  source: string;
}

export interface ShippedPolicy {
  name: string;
  path: string;
  title: string | null;
  source: string;
  cases: ShippedCase[];
  suite?: { path: string; source: string };
  floor?: string;
}

export interface Examples {
  policies: ShippedPolicy[];
  fields: { path: string; type: string; optional: boolean }[];
}

export interface RuleHit {
  rule: string;
  effect: string;
  message?: string;
  /** `floor` for a rule of the platform floor. */
  layer?: string;
}

export interface LineVerdict {
  sku: string;
  decision: string;
  refund: string;
  message?: string;
  deductions: { label: string; amount: string }[];
  rules: RuleHit[];
  overrides?: { floor_rule?: string; [k: string]: unknown }[];
}

export interface Verdict {
  return_id: string;
  policy: PolicyId;
  decision: string;
  refund: string;
  currency: string;
  shipping: string;
  risk: number;
  flags: { name: string; score: number; note?: string }[];
  lines: LineVerdict[];
  errors: { construct: string; sku?: string; message: string }[];
}

export interface Fired {
  name: string;
  facts: string[];
}

export interface Explanation {
  flags: Fired[];
  shipping: Fired | null;
  lines: { sku: string; rules: Fired[]; refund: Fired | null }[];
}

export interface TryAnswer {
  verdict: Verdict;
  explanation: Explanation;
  explanation_text: string;
}

export interface Score {
  name: string;
  true_positives: number;
  false_positives: number;
  false_negatives: number;
  precision: string | null;
  recall: string | null;
}

export interface Labels {
  abuse: number;
  ok: number;
  unlabelled: number;
  flags: Score[];
  not_approved: Score;
  denied: Score;
}

export interface PolicySummary {
  title: string;
  currency: string;
  decisions: Record<string, number>;
  refund_total: string;
  shipping: Record<string, number>;
  rules: { name: string; fired: number }[];
  flags: { name: string; fired: number }[];
  with_errors: number;
  labels?: Labels;
}

export interface Change {
  line: number;
  return_id: string;
  from: string;
  to: string;
  refund_from: string;
  refund_to: string;
}

export interface Comparison {
  title: string;
  moves: { from: string; to: string; returns: number }[];
  changed: number;
  refund_before: string;
  refund_after: string;
  refund_delta: string;
  flags_gained: { name: string; fired: number }[];
  flags_lost: { name: string; fired: number }[];
  first_changes: Change[];
  labels?: Labels;
}

export interface Summary {
  lines: number;
  customers: number;
  orders: number;
  returns: number;
  invalid: { line: number; reason: string }[];
  policy: PolicySummary;
  compare?: Comparison;
}

export interface ReplayDone {
  summary: Summary;
  stream: {
    bytes: number;
    compare: { with: "saved"; version: number } | { with: "policy" } | null;
    generated?: { customers: number; abusers: number; orders: number; returns: number; abusive_returns: number };
  };
}

export interface TestCase {
  name: string;
  outcome: "passed" | "failed" | "snapshot_differs" | "error";
  mismatches?: { key: string; expected: string; actual: string }[];
  snapshot?: { path: string; expected: string | null; actual: string };
  error?: string;
}

export interface TestAnswer {
  passed: number;
  failed: number;
  cases: TestCase[];
  report: string;
}

export interface SavedPolicy {
  version: number;
  policy: PolicyId;
  stored_at: string;
  source: string;
}
