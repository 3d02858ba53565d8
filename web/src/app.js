// The dashboard: hash routes (#/runs/3) to pages, the header with the
// language switch, and signing in.
import * as api from "./api.js";
import { h } from "./dom.js";
import { t, language, setLanguage } from "./i18n.js";
import * as pages from "./pages.js";
import { servingPage } from "./pages_serving.js";

const routes = [
  [/^\/?$/, pages.homePage, "home"],
  [/^\/runs$/, pages.runsPage, "runs"],
  [/^\/runs\/(\d+)$/, pages.runPage, "runs"],
  [/^\/compare$/, pages.comparePage, "runs"],
  [/^\/models$/, pages.modelsPage, "models"],
  [/^\/models\/([\w.-]+)$/, pages.modelPage, "models"],
  [/^\/datasets$/, pages.datasetsPage, "datasets"],
  [/^\/datasets\/([\w.-]+)$/, pages.datasetPage, "datasets"],
  [/^\/serving$/, servingPage, "serving"],
  [/^\/feedback$/, pages.feedbackPage, "feedback"],
  [/^\/pipelines$/, pages.pipelinesPage, "pipelines"],
  [/^\/pipelines\/(\d+)$/, pages.pipelinePage, "pipelines"],
  [/^\/audit$/, pages.auditPage, "audit"],
];

let who = null;

function header(active) {
  const top = document.getElementById("top");
  top.replaceChildren(
    h("span", { class: "brand" }, "Enclave"),
    h("nav", null, ["home", "runs", "models", "datasets", "serving", "feedback", "pipelines", "audit"].map((k) =>
      h("a", { href: "#/" + (k === "home" ? "" : k), class: k === active ? "active" : null, id: "nav-" + k }, t(k)))),
    h("span", { class: "right" },
      who && who.signed_in ? [t("signed_in_as") + " " + who.actor + " (" + who.scopes.join(", ") + ")",
        h("button", { class: "secondary", id: "sign-out", onclick: async () => { await api.signOut(); who = null; render(); } }, t("sign_out"))] : null,
      h("select", { id: "lang", onchange: (e) => { setLanguage(e.target.value); render(); } },
        h("option", { value: "en", selected: language() === "en" }, "English"),
        h("option", { value: "ko", selected: language() === "ko" }, "한국어"))));
}

function signInPage(main, mode) {
  header(null);
  if (mode !== "keys") {
    main.replaceChildren(h("div", { class: "card signin" }, h("h1", null, t("sign_in")), h("p", null, t("token_hint"))));
    return;
  }
  const input = h("input", { type: "password", id: "api-key", autocomplete: "off", size: 48 });
  const error = h("p", { class: "error" });
  const form = h("form", { class: "card signin", id: "sign-in" }, h("h1", null, t("sign_in")),
    h("label", null, t("api_key"), input), h("p", null, h("button", { type: "submit" }, t("sign_in"))), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { who = await api.signIn(input.value, "keys"); who.signed_in = true; render(); } catch (err) { error.textContent = err.message; }
  });
  main.replaceChildren(form);
}

export function canDo(scope) {
  if (!who || !who.scopes) return false;
  return who.scopes.includes("admin") || who.scopes.includes(scope);
}

// Each render draws into a box of its own; a newer one (another click
// before the page finished loading) replaces it, and the older one goes on
// drawing into its detached box unseen. window.enclaveRenders counts the
// renders that finished as the newest (tests wait on it).
let generation = 0;

async function render() {
  const g = ++generation;
  try {
    await renderPage(g);
  } finally {
    if (g === generation) window.enclaveRenders = (window.enclaveRenders || 0) + 1;
  }
}

async function renderPage(g) {
  const main = document.getElementById("main");
  if (!who || !who.signed_in) {
    const s = await api.session();
    if (!s.signed_in) {
      const token = new URLSearchParams(location.search).get("token");
      if (token && s.mode === "token") {
        try { who = await api.signIn(token, "token"); who.signed_in = true; } catch (err) { who = null; }
        history.replaceState(null, "", "/" + location.hash);
      }
      if (!who) return signInPage(main, s.mode);
    } else {
      who = s;
    }
  }
  const path = location.hash.replace(/^#/, "").split("?")[0];
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  for (const [re, page, active] of routes) {
    const m = path.match(re);
    if (!m) continue;
    header(active);
    const box = h("div");
    main.replaceChildren(box);
    window.enclaveCharts = {};
    try {
      await page(box, m.slice(1), params);
    } catch (err) {
      box.append(h("p", { class: "error" }, err.message));
    }
    if (g === generation) main.dataset.loaded = path || "/";
    return;
  }
  header(null);
  main.replaceChildren(h("p", { class: "error" }, "no page " + path));
}

window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", render);
