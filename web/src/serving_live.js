// The home page's live serving indicator: GET /api/v1/serving/live (see
// src/ui/serving_live.h) drawn into a card and polled every refresh_s
// seconds without reloading the page, until the card leaves the document
// (another page replaced it). The card's data-* attributes carry what it
// shows (state, checked_at, generations, polls) for tests and scripts.
import * as api from "./api.js";
import { badge, h } from "./dom.js";
import { language, t } from "./i18n.js";

// 75 -> "1 min" / "1분": the largest unit that fits.
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  for (const [unit, size] of [["unit_d", 86400], ["unit_h", 3600], ["unit_min", 60]]) {
    if (s >= size) return t(unit).replace("{n}", Math.floor(s / size));
  }
  return t("unit_s").replace("{n}", s);
}

function lastRequestLine(last) {
  if (!last) return h("p", { class: "muted" }, t("no_request_yet"));
  const model = last.model_version || last.model || "?";
  return h("p", { class: "last-request" }, t("last_request") + ": " + t("ago").replace("{d}", duration(last.age_s)) +
    ` · ${model} · HTTP ${last.status}`);
}

function draw(card, live) {
  const state = live.state;
  card.dataset.state = state;
  card.dataset.checked = live.checked_at;
  const rows = [h("h2", null, t("serving_now") + " ", badge("live_" + state, t("state_" + state)))];
  if (live.server) {
    const s = live.server;
    card.dataset.generations = String(s.generations);
    rows.push(h("ul", { class: "served-models" }, s.models.map((m) =>
      h("li", { "data-model": m.id }, h("strong", null, m.id), " · " + t("loaded") + " " + m.version))));
    rows.push(h("p", null, [t("up_for") + " " + duration(s.uptime_s), t("answered") + " " + s.generations,
      t("running") + " " + s.running, t("queued") + " " + s.queued].join(" · ")));
  } else {
    delete card.dataset.generations;
    rows.push(h("p", { class: "muted" }, t(state === "stale" ? "no_server_stale" : "no_server_known")));
  }
  rows.push(lastRequestLine(live.last_request));
  rows.push(h("p", { class: "muted checked" }, t("checked") + " " + new Date(live.checked_at).toLocaleTimeString(language() === "ko" ? "ko-KR" : "en-US")));
  card.replaceChildren(...rows);
}

function drawUnreachable(card, err) {
  card.dataset.state = "unreachable";
  card.replaceChildren(h("h2", null, t("serving_now") + " ", badge("live_unreachable", t("state_unreachable"))),
    h("p", { class: "error" }, err.message));
}

// A card polling the indicator; resolves once the first answer is drawn.
export async function servingLiveCard(parent) {
  const card = h("div", { class: "card serving-live", id: "serving-live" });
  parent.append(card);
  let polls = 0;
  async function poll() {
    let wait = 5;
    try {
      const live = await api.get("/serving/live");
      wait = live.refresh_s || wait;
      draw(card, live);
    } catch (err) {
      if (err.status === 401) return;  // signed out: the page itself says so on its next render
      drawUnreachable(card, err);
    }
    card.dataset.polls = String(++polls);
    setTimeout(() => { if (card.isConnected) poll(); }, wait * 1000);
  }
  await poll();
  return card;
}
