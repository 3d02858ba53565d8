// Serving and monitoring: requests over time, latency percentiles, errors
// by status, tokens/s and feedback rate from the monitoring report, and the
// redacted request log with search and filters.
import * as api from "./api.js";
import { lineChart } from "./charts.js";
import { badge, fmt, h, paged, table } from "./dom.js";
import { t } from "./i18n.js";

const periods = { "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000 };

export async function servingPage(main, _m, params) {
  main.append(h("h1", null, t("serving")));
  const period = params.get("period") || "24h";
  main.append(h("p", { class: "row" }, Object.keys(periods).map((p) =>
    h("a", { href: `#/serving?period=${p}`, class: p === period ? "badge pending" : "badge" }, p))));
  const report = await api.get("/serving", { since: periods[period] || 86400, windows: 24 });
  if (!report) {
    main.append(h("p", { class: "muted" }, t("no_log")));
    return;
  }
  const windows = report.windows || [];
  const at = (w) => Date.parse(w.end) / 1000;
  const metric = (key) => windows.map((w) => [at(w), w.metrics && key in w.metrics ? w.metrics[key] : null]);
  const charts = h("div", { class: "charts", id: "charts" });
  main.append(charts);
  lineChart(charts, { title: t("requests"), time: true, series: [{ label: t("requests"), points: windows.map((w) => [at(w), (w.metrics && w.metrics["serve.requests"]) || 0]) }] });
  lineChart(charts, { title: t("latency"), time: true, series: ["p50", "p95", "p99"].map((p) => ({ label: p, points: metric("serve.latency_" + p) })) });
  lineChart(charts, { title: t("error_rate"), time: true, series: [{ label: t("error_rate"), points: metric("serve.error_rate") }] });
  lineChart(charts, { title: t("tokens_per_s"), time: true, series: [{ label: t("tokens_per_s"), points: metric("serve.tokens_per_second") }] });
  lineChart(charts, { title: t("feedback_rate"), time: true, series: [{ label: t("feedback_rate"), points: metric("feedback.rate") }] });
  const byStatus = {};
  for (const w of windows) for (const [s, n] of Object.entries(w.errors_by_status || {})) byStatus[s] = (byStatus[s] || 0) + n;
  main.append(h("h2", null, t("errors_by_status")), table([{ key: "status" }, { key: "requests", num: true }],
    Object.entries(byStatus).map(([status, requests]) => ({ status, requests }))));

  main.append(h("h2", null, t("request_log")));
  const field = (name, label, size) => h("label", null, label, h("input", { name, value: params.get(name) || "", size }));
  const form = h("form", { class: "filters", id: "request-filters" }, field("q", t("search"), 18), field("model", t("model"), 12),
    field("status", t("status"), 5), field("key", t("key"), 10), h("button", { type: "submit" }, t("filter")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams({ period });
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    location.hash = "#/serving?" + q.toString();
  });
  main.append(form);
  const filters = {};
  for (const k of ["q", "model", "status", "key"]) if (params.get(k)) filters[k] = params.get(k);
  await paged(main, (cursor) => api.get("/requests", { ...filters, cursor, limit: 50 }), (holder, items, first) => {
    const tbl = table([{ key: "time", cell: (r) => r.created_at }, { key: "id" }, { key: "key", cell: (r) => r.key_id || "-" },
      { key: "model", cell: (r) => r.model_version }, { key: "status", cell: (r) => badge(String(r.status)) },
      { key: "latency", cell: (r) => fmt(r.latency_seconds), num: true },
      { key: "prompt", cell: (r) => String(r.prompt).slice(0, 120) }, { key: "completion", cell: (r) => String(r.completion).slice(0, 120) }], items);
    tbl.id = "request-log";
    if (first) holder.replaceChildren(tbl); else holder.querySelector("tbody").append(...tbl.querySelector("tbody").children);
  });
}
