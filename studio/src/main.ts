// The studio's page: a header (language, token, save), the policy pane, and
// three tabs — try a case, replay history, tests. Everything it shows comes
// from the service that served it; nothing is fetched from anywhere else.

import { get, setToken, type Examples } from "./api";
import { byId, h } from "./dom";
import { current, onLang, setLang, t, translate } from "./i18n";
import { editorView, load, loadSaved, matchShipped, mountPolicy, offerDraft, save } from "./policy";
import { mountReplay, setPolicyInForce } from "./replay";
import { changed, state } from "./state";
import { mountTests } from "./tests";
import { mountTry } from "./try";

const TOKEN = "rpl-studio-token";
const TABS = ["try", "replay", "tests"] as const;
type Tab = (typeof TABS)[number];

/** The token: from the address's fragment (`rpl studio` puts it there), else the one kept for this tab. */
function initialToken(): string {
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (m) {
    const token = decodeURIComponent(m[1]);
    sessionStorage.setItem(TOKEN, token);
    // Out of the address bar, so it is not copied along with the address.
    history.replaceState(null, "", location.pathname + location.search);
    return token;
  }
  return sessionStorage.getItem(TOKEN) ?? "";
}

function header(): HTMLElement {
  const token = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    "data-i18n-placeholder": "token.placeholder",
    onchange: (e: Event) => {
      const v = (e.target as HTMLInputElement).value;
      setToken(v);
      sessionStorage.setItem(TOKEN, v.trim());
      void loadSaved();
    },
  }) as HTMLInputElement;
  return h(
    "header",
    { class: "top" },
    h("img", { src: "studio/icon.svg", alt: "", class: "logo", width: 28, height: 28 }),
    h("div", { class: "titles" }, h("h1", { "data-i18n": "title" }), h("div", { class: "subtitle", "data-i18n": "subtitle" })),
    h("span", { class: "grow" }),
    h("label", { class: "field inline-field" }, h("span", { "data-i18n": "token.label" }), token),
    h("button", { id: "save", class: "primary", "data-i18n": "save.button", onclick: () => void save() }),
    h("button", { id: "lang", class: "secondary", "data-i18n": "lang.switch", "data-i18n-title": "lang.switchTitle", onclick: () => setLang(current() === "zh" ? "en" : "zh") }),
  );
}

function tabs(): HTMLElement {
  const bar = h(
    "div",
    { class: "tabs", role: "tablist" },
    TABS.map((tab) => h("button", { id: `tab-${tab}`, role: "tab", class: "tab", "data-i18n": `tab.${tab}`, onclick: () => show(tab) })),
  );
  return h(
    "section",
    { class: "work" },
    bar,
    TABS.map((tab) => h("div", { id: `panel-${tab}`, role: "tabpanel", class: "panel", hidden: tab !== "try" })),
  );
}

function show(tab: Tab) {
  for (const other of TABS) {
    byId(`panel-${other}`).hidden = other !== tab;
    byId(`tab-${other}`).setAttribute("aria-selected", String(other === tab));
  }
}

async function boot() {
  const app = byId("app");
  const policyPane = h("section", { class: "pane pane-policy" });
  const work = tabs();
  app.append(header(), h("main", { class: "layout" }, policyPane, work), h("footer", { "data-i18n": "footer" }));
  const token = initialToken();
  setToken(token);
  (byId("token") as HTMLInputElement).value = token;
  mountPolicy(policyPane);
  mountTry(byId("panel-try"));
  mountReplay(byId("panel-replay"));
  mountTests(byId("panel-tests"));
  show("try");
  onLang(() => {
    translate();
    document.documentElement.lang = current() === "zh" ? "zh-CN" : "en";
    document.title = `${t("title")} — rpl`;
  });

  const [examples, health] = await Promise.all([get<Examples>("v1/studio/examples"), get<{ policy_version: number }>("healthz")]);
  state.examples = examples.ok ? examples.body : { policies: [], fields: [] };
  setPolicyInForce(health.ok && health.body.policy_version > 0);
  const saved = await loadSaved();
  // Start from the saved policy when it can be read, else from the first shipped one.
  const first = state.examples.policies.find((p) => p.name === "marketplace") ?? state.examples.policies[0] ?? null;
  const start = saved?.source ?? first?.source ?? "";
  state.shipped = saved ? matchShipped(saved.source, saved.policy.title) : first;
  const pick = byId<HTMLSelectElement>("policy-pick");
  changed("saved");
  pick.value = saved ? "saved" : (first?.path ?? "");
  state.text = start;
  offerDraft();
  changed("shipped");
  load(start);
  editorView().focus();
  document.body.dataset.ready = "true";
}

void boot();
