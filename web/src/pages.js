// The pages: each fills `main` from the API.
import * as api from "./api.js";
import { canDo } from "./app.js";
import { lineChart } from "./charts.js";
import { badge, fmt, h, kv, link, paged, table } from "./dom.js";
import { drawDag } from "./graph.js";
import { t } from "./i18n.js";
import { servingLiveCard } from "./serving_live.js";

const runLink = (id) => link("#/runs/" + id, "run " + id);
const aliasText = (aliases) => Object.entries(aliases || {}).map(([a, v]) => `${a}→@${v}`).join(" ");

const runColumns = [
  { key: "id", cell: (r) => runLink(r.id) },
  { key: "kind" }, { key: "name" }, { key: "status", cell: (r) => badge(r.status) },
  { key: "started", cell: (r) => r.started_at },
  { key: "duration", cell: (r) => (r.duration_s === undefined || r.duration_s === null ? "" : fmt(r.duration_s) + " s"), num: true },
];

export async function homePage(main) {
  const home = await api.get("/home");
  main.append(h("h1", null, t("home")));
  const cards = h("div", { class: "cards" });
  main.append(cards);
  await servingLiveCard(cards);
  cards.append(h("div", { class: "card" }, h("h2", null, t("latest_runs")), table(runColumns.slice(0, 4), home.runs)));
  cards.append(h("div", { class: "card" }, h("h2", null, t("models")), table([
    { key: "name", cell: (m) => link("#/models/" + m.name, m.name) },
    { key: "versions", cell: (m) => m.n_versions, num: true },
    { key: "aliases", cell: (m) => aliasText(m.aliases) }], home.models)));
  cards.append(h("div", { class: "card" }, h("h2", null, t("datasets")), table([
    { key: "name", cell: (d) => link("#/datasets/" + d.name, d.name) },
    { key: "versions", cell: (d) => d.n_versions, num: true }], home.datasets)));
  const serving = h("div", { class: "card" }, h("h2", null, t("serving") + " · " + t("last_day")));
  const w = home.serving && home.serving.windows && home.serving.windows[0];
  if (w) {
    const m = w.metrics || {};
    serving.append(kv({ [t("requests")]: m["serve.requests"] || 0, [t("error_rate")]: m["serve.error_rate"],
      ["p95 " + t("latency")]: m["serve.latency_p95"], [t("feedback_rate")]: m["feedback.rate"] }));
  } else serving.append(h("p", { class: "muted" }, t("no_log")));
  cards.append(serving);
  cards.append(h("div", { class: "card" }, h("h2", null, t("waiting_approval")), table([
    { key: "run", label: t("run"), cell: (p) => link("#/pipelines/" + p.run, p.pipeline + " #" + p.run) },
    { key: "stages", cell: (p) => p.stages.filter((s) => s.status === "waiting_approval").map((s) => s.name).join(", ") }],
  home.waiting_approval)));
}

export async function runsPage(main, _m, params) {
  main.append(h("h1", null, t("runs")));
  const field = (name, label, attrs) => h("label", null, label, h("input", { name, value: params.get(name) || "", ...attrs }));
  const status = h("select", { name: "status" }, ["", "running", "finished", "failed", "killed"].map((s) =>
    h("option", { value: s, selected: params.get("status") === s }, s || t("any"))));
  const form = h("form", { class: "filters", id: "run-filters" },
    field("kind", t("kind"), { size: 10 }), h("label", null, t("status"), status), field("q", t("search"), { size: 14 }),
    field("model", t("model"), { size: 12 }), field("dataset", t("dataset"), { size: 12 }),
    field("since", t("since"), { type: "date" }), h("button", { type: "submit" }, t("filter")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    location.hash = "#/runs?" + q.toString();
  });
  const picked = new Set();
  const compare = h("button", { id: "compare", disabled: true, onclick: () => { location.hash = "#/compare?ids=" + [...picked].join(","); } }, t("compare"));
  main.append(form, h("p", null, compare));
  const filters = Object.fromEntries(params.entries());
  await paged(main, (cursor) => api.get("/runs", { ...filters, limit: 50, cursor }), (holder, items, first) => {
    const columns = [{ key: "compare", label: "", cell: (r) => {
      const box = h("input", { type: "checkbox", "data-run": r.id });
      box.addEventListener("change", () => {
        if (box.checked) picked.add(r.id); else picked.delete(r.id);
        compare.disabled = picked.size < 2 || picked.size > 4;
      });
      return box;
    } }, ...runColumns, { key: "metrics", cell: (r) => Object.entries(r.metrics || {}).slice(0, 4).map(([k, v]) => `${k}=${fmt(v)}`).join("  ") }];
    const tbl = table(columns, items);
    if (first) holder.replaceChildren(tbl); else holder.querySelector("tbody").append(...tbl.querySelector("tbody").children);
  });
}

function ioTable(list) {
  return table([{ key: "role", label: "role" }, { key: "value", label: "", cell: (x) => {
    const v = x.version;
    if (v && typeof v === "object") return link(`#/${v.kind === "dataset" ? "datasets" : "models"}/${v.name}`, `${v.name}@${v.version}`);
    const a = x.artifact;
    if (a && typeof a === "object") return a.digest || JSON.stringify(a);
    return a || fmt(x);
  } }], list || []);
}

async function metricCharts(parent, ids, weight) {
  const series = await Promise.all(ids.map((id) => api.get(`/runs/${id}/metrics`)));
  const keys = [...new Set(series.flatMap((s) => Object.keys(s.metrics)))].sort();
  const charts = h("div", { class: "charts", id: "charts" });
  parent.append(charts);
  for (const key of keys) {
    lineChart(charts, { title: key, weight,
      series: series.map((s) => ({ label: "run " + s.run, points: (s.metrics[key] || []).map((p) => [p[0], p[1]]) })) });
  }
}

export async function runPage(main, [id], params) {
  const run = await api.get("/runs/" + id);
  main.append(h("h1", null, `run ${run.id} · ${run.kind} ${run.name || ""} `, badge(run.status)));
  main.append(kv({ command: (run.command || []).join ? run.command.join(" ") : run.command, started: run.started_at,
    ended: run.ended_at, host: run.host, user: run.user, version: run.program_version, seed: run.seed, message: run.message }));
  const weight = Number(params.get("smooth") || 0);
  const overlay = params.get("overlay") || "";
  const smooth = h("input", { type: "range", min: 0, max: 0.99, step: 0.01, value: weight, id: "smoothing" });
  const others = h("input", { value: overlay, size: 14, id: "overlay" });
  const form = h("form", { class: "filters" }, h("label", null, t("smoothing"), smooth), h("label", null, t("overlay"), others),
    h("button", { type: "submit" }, t("apply")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `#/runs/${id}?smooth=${smooth.value}&overlay=${encodeURIComponent(others.value)}`;
  });
  main.append(h("h2", null, t("metrics")), form);
  const ids = [Number(id), ...overlay.split(/[ ,]+/).filter(Boolean).map(Number)].slice(0, 4);
  await metricCharts(main, ids, weight);
  main.append(h("h2", null, t("metrics")), table([{ key: "metric", cell: (r) => r[0] },
    ...["last", "min", "max", "n"].map((k) => ({ key: k, label: k, cell: (r) => r[1][k], num: true }))], Object.entries(run.metrics || {})));
  main.append(h("h2", null, t("inputs")), ioTable(run.inputs), h("h2", null, t("outputs")), ioTable(run.outputs));
  main.append(h("h2", null, t("params")), kv(run.params));
  main.append(h("h2", null, t("lineage")), h("p", { class: "muted" }, t("lineage_hint")));
  await lineageGraph(main, "run:" + id);
}

export async function comparePage(main, _m, params) {
  const ids = (params.get("ids") || "").split(",").filter(Boolean);
  const c = await api.get("/compare", { ids: ids.join(",") });
  main.append(h("h1", null, t("compare") + " " + ids.map((i) => "run " + i).join(", ")));
  const cols = [{ key: "name", cell: (r) => r.key }, ...c.runs.map((r, i) => ({ key: "r" + r.id, label: `run ${r.id} (${r.kind})`, cell: (row) => fmt(row.values[i]) })),
    { key: "differs", cell: (r) => (r.differs ? "*" : "") }];
  main.append(h("h2", null, t("metrics")), table(cols, c.metrics), h("h2", null, t("params")), table(cols, c.params));
  main.append(h("h2", null, t("metrics")));
  await metricCharts(main, ids, 0);
}

export async function modelsPage(main) {
  main.append(h("h1", null, t("models")));
  await paged(main, (cursor) => api.get("/models", { cursor }), (holder, items) => holder.append(table([
    { key: "name", cell: (m) => link("#/models/" + m.name, m.name) },
    { key: "versions", cell: (m) => m.n_versions, num: true },
    { key: "aliases", cell: (m) => aliasText(m.aliases) },
    { key: "created", cell: (m) => m.latest && m.latest.created_at }], items)));
}

function versionLabel(v) { return "@" + v.version; }

export async function modelPage(main, [name], params) {
  const m = await api.get("/models/" + name);
  main.append(h("h1", null, t("model") + " " + name));
  main.append(table([{ key: "version", cell: versionLabel }, { key: "aliases", cell: (v) => (v.aliases || []).join(", ") },
    { key: "tags", cell: (v) => Object.entries(v.tags || {}).map(([k, x]) => (x ? `${k}=${x}` : k)).join(" ") },
    { key: "created", cell: (v) => v.created_at }, { key: "run", cell: (v) => (v.run_id ? runLink(v.run_id) : "") },
    { key: "lineage", cell: (v) => link(`#/models/${name}?version=${v.version}`, t("lineage")) }], m.versions));
  // Eval results side by side: one row per metric, one column per version.
  const evals = m.versions.flatMap((v) => (v.evaluations || []).map((e) => ({ ...e, version: v.version })));
  main.append(h("h2", null, t("evaluations")));
  if (evals.length === 0) main.append(h("p", { class: "muted" }, t("nothing")));
  else {
    const keys = [...new Set(evals.filter((e) => e.kind === "eval").flatMap((e) => e.metrics.map((x) => x.key)))].sort();
    const evalRuns = evals.filter((e) => e.kind === "eval");
    main.append(h("div", { id: "eval-table" }, table([{ key: "metric", cell: (k) => k }, ...evalRuns.map((e) => ({ key: "e" + e.run, label: `@${e.version} · run ${e.run}`, num: true, cell: (k) => {
      const x = e.metrics.find((y) => y.key === k);
      if (!x) return "";
      return x.ci95 ? `${fmt(x.value)} [${fmt(x.ci95[0])}, ${fmt(x.ci95[1])}]` : fmt(x.value);
    } }))], keys)));
    const gates = evals.filter((e) => e.kind === "gate");
    if (gates.length) {
      main.append(h("h2", null, t("gate")), table([{ key: "version", cell: (g) => "@" + g.version }, { key: "run", cell: (g) => runLink(g.run) },
        { key: "status", cell: (g) => badge(g.gate_passed ? "pass" : "fail") }, { key: "failed", label: t("failed"), cell: (g) => (g.failed_rules || []).join("; ") }], gates));
    }
  }
  const version = params.get("version") || (m.versions.length ? m.versions[m.versions.length - 1].version : null);
  if (version) {
    main.append(h("h2", null, `${t("lineage")} ${name}@${version}`), h("p", { class: "muted" }, t("lineage_hint")));
    await lineageGraph(main, `${name}@${version}`, "model");
  }
}

export async function lineageGraph(parent, ref, kind) {
  const g = await api.get("/lineage", { ref, kind });
  const nodes = g.nodes.map((n) => {
    let href = null;
    if (n.type === "run") href = "#/runs/" + n.id;
    else if (n.type === "model" || n.type === "dataset") href = `#/${n.type}s/${n.ref.split("@")[0]}`;
    return { id: n.key, label: n.label, href, classes: `${n.type} ${n.key === g.root ? "root" : ""}` };
  });
  drawDag(parent, nodes, g.edges).id = "lineage";
}

export async function datasetsPage(main) {
  main.append(h("h1", null, t("datasets")));
  await paged(main, (cursor) => api.get("/datasets", { cursor }), (holder, items) => holder.append(table([
    { key: "name", cell: (d) => link("#/datasets/" + d.name, d.name) },
    { key: "versions", cell: (d) => d.n_versions, num: true }, { key: "aliases", cell: (d) => aliasText(d.aliases) },
    { key: "created", cell: (d) => d.latest && d.latest.created_at }], items)));
}

function reportView(report) {
  if (!report) return h("p", { class: "muted" }, t("nothing"));
  const box = h("div");
  const scalars = Object.fromEntries(Object.entries(report).filter(([, v]) => typeof v !== "object" || v === null));
  box.append(kv(scalars));
  for (const [k, v] of Object.entries(report)) {
    if (typeof v !== "object" || v === null) continue;
    box.append(h("h3", null, k));
    if (Array.isArray(v) && v.every((x) => typeof x === "object" && x !== null && !Array.isArray(x))) {
      const cols = [...new Set(v.flatMap((x) => Object.keys(x)))];
      box.append(table(cols.map((c) => ({ key: c, label: c, cell: (r) => (typeof r[c] === "object" && r[c] !== null ? JSON.stringify(r[c]) : r[c]) })), v));
    } else box.append(kv(Array.isArray(v) ? Object.fromEntries(v.map((x, i) => [i, x])) : v));
  }
  return box;
}

export async function datasetPage(main, [name], params) {
  const d = await api.get("/datasets/" + name);
  main.append(h("h1", null, t("dataset") + " " + name));
  main.append(table([{ key: "version", cell: versionLabel }, { key: "aliases", cell: (v) => (v.aliases || []).join(", ") },
    { key: "created", cell: (v) => v.created_at }, { key: "run", cell: (v) => (v.run_id ? runLink(v.run_id) : "") },
    { key: "files", cell: (v) => (v.files ? v.files.length : "") }], d.versions));
  const version = params.get("version") || (d.versions.length ? d.versions[d.versions.length - 1].version : null);
  const v = d.versions.find((x) => String(x.version) === String(version));
  if (!v) return;
  main.append(h("p", null, d.versions.map((x) => [link(`#/datasets/${name}?version=${x.version}`, "@" + x.version), " "])));
  main.append(h("h2", { id: "report" }, `${t("report")} ${name}@${v.version}`), reportView(v.report));
  main.append(h("h2", null, t("samples")));
  await paged(main, (cursor) => api.get(`/datasets/${name}/samples`, { version: v.version, limit: 20, cursor }), (holder, items) => holder.append(table([
    { key: "file" }, { key: "line", num: true }, { key: "record", cell: (r) => h("pre", null, typeof r.record === "string" ? r.record : JSON.stringify(r.record, null, 1)) }], items)));
  main.append(h("h2", null, t("lineage")));
  await lineageGraph(main, `${name}@${v.version}`, "dataset");
}

function feedbackItem(item, refresh) {
  const r = item.request;
  const box = h("div", { class: "feedback-item", "data-request": r.id });
  box.append(h("div", { class: "row" }, badge(item.status), h("b", null, r.id), h("span", { class: "muted" }, `${r.created_at} · ${r.model_version}`)));
  let prompt = r.prompt;
  try { const msgs = JSON.parse(r.prompt); if (Array.isArray(msgs)) prompt = msgs.map((m) => `${m.role}: ${m.content}`).join("\n"); } catch (e) { /* plain text */ }
  box.append(h("div", null, h("b", null, t("prompt"))), h("pre", null, prompt), h("div", null, h("b", null, t("completion"))), h("pre", null, r.completion));
  box.append(table([{ key: "time", cell: (f) => f.created_at }, { key: "key", cell: (f) => f.key_id }, { key: "rating", num: true },
    { key: "correction", cell: (f) => f.correction || "" }], item.feedback));
  if (item.review) box.append(h("p", { class: "muted" }, `${item.review.decision} · ${item.review.reviewer} · ${item.review.reviewed_at}${item.review.correction ? " · " + item.review.correction : ""}`));
  const allowed = canDo("feedback") || canDo("approve");
  const correction = h("textarea", { rows: 2, cols: 60, class: "correction", hidden: true });
  const error = h("span", { class: "error" });
  const decide = async (decision, withCorrection) => {
    try {
      await api.post("/feedback/review", { request_id: r.id, decision, correction: withCorrection ? correction.value : undefined });
      refresh();
    } catch (err) { error.textContent = err.message; }
  };
  const correct = h("button", { class: "secondary correct", disabled: !allowed, onclick: () => {
    if (correction.hidden) { correction.hidden = false; correction.value = (item.feedback.find((f) => f.correction) || {}).correction || r.completion; return; }
    decide("approved", true);
  } }, t("correct"));
  box.append(h("div", { class: "row" },
    h("button", { class: "approve", disabled: !allowed, onclick: () => decide("approved", false) }, t("approve")), correct,
    h("button", { class: "danger reject", disabled: !allowed, onclick: () => decide("rejected", false) }, t("reject")), error), correction);
  return box;
}

export async function feedbackPage(main, _m, params) {
  const status = params.has("status") ? params.get("status") : "pending";
  main.append(h("h1", null, t("feedback")));
  main.append(h("p", { class: "row" }, ["pending", "approved", "rejected", ""].map((s) =>
    h("a", { href: "#/feedback?status=" + s, class: s === status ? "badge pending" : "badge" }, t(s || "all")))));
  const name = h("input", { value: "feedback", size: 16, id: "export-name" });
  const result = h("span", { class: "muted" });
  const exportForm = h("form", { class: "filters", id: "export" }, h("label", null, t("dataset"), name),
    h("button", { type: "submit", disabled: !(canDo("feedback") || canDo("approve")) }, t("export")), result);
  exportForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { const r = await api.post("/feedback/export", { name: name.value }); result.textContent = `${t("done")}: ${r.dataset} (run ${r.run})`; } catch (err) { result.textContent = err.message; }
  });
  main.append(h("h2", null, t("export_dataset")), exportForm);
  const refresh = () => { location.hash = "#/feedback?status=" + status + "&t=" + Date.now(); };
  await paged(main, (cursor) => api.get("/feedback", { status, cursor, limit: 20 }), (holder, items) => {
    if (items.length === 0 && holder.children.length === 0) holder.append(h("p", { class: "muted" }, t("nothing")));
    for (const item of items) holder.append(feedbackItem(item, refresh));
  });
}

const pipelineColumns = [
  { key: "run", label: t("run"), cell: (p) => link("#/pipelines/" + p.run, "#" + p.run) },
  { key: "pipeline", cell: (p) => p.pipeline }, { key: "status", cell: (p) => badge(p.status) },
  { key: "trigger" }, { key: "created", cell: (p) => p.created_at }, { key: "ended", label: "ended", cell: (p) => p.ended_at || "" }];

export async function pipelinesPage(main) {
  main.append(h("h1", null, t("pipelines")));
  await paged(main, (cursor) => api.get("/pipelines", { cursor }), (holder, items) => holder.append(table(pipelineColumns, items)));
}

export async function pipelinePage(main, [id]) {
  const p = await api.get("/pipelines/" + id);
  main.append(h("h1", null, `${t("pipeline")} ${p.pipeline} #${p.run} `, badge(p.status)));
  if (p.message) main.append(h("p", { class: "muted" }, p.message));
  const status = Object.fromEntries(p.stages.map((s) => [s.name, s.status]));
  if (p.dag) {
    const producer = {};
    for (const s of p.dag.stages) for (const o of s.outs) producer[o] = s.name;
    const edges = [];
    for (const s of p.dag.stages) {
      for (const a of s.after || []) edges.push({ from: a, to: s.name });
      for (const d of s.deps || []) if (producer[d] && producer[d] !== s.name) edges.push({ from: producer[d], to: s.name });
    }
    drawDag(main, p.dag.stages.map((s) => ({ id: s.name, label: `${s.name} · ${status[s.name] || "-"}`, classes: status[s.name] || "" })), edges).id = "stage-dag";
  } else if (p.dag_error) main.append(h("p", { class: "muted" }, p.dag_error));
  const allowed = canDo("approve");
  main.append(h("h2", null, t("stages")), table([{ key: "stage", cell: (s) => s.name }, { key: "status", cell: (s) => badge(s.status) },
    { key: "run", cell: (s) => (s.run ? runLink(s.run) : "") }, { key: "cmd", cell: (s) => s.cmd || "" }, { key: "message", cell: (s) => s.message || "" },
    { key: "action", cell: (s) => {
      if (s.status !== "waiting_approval") return "";
      const reason = h("input", { placeholder: t("reason"), size: 18, class: "reason" });
      const error = h("span", { class: "error" });
      const decide = async (decision) => {
        try {
          await api.post("/pipelines/decide", { run: Number(id), stage: s.name, decision, reason: reason.value || undefined });
          setTimeout(() => { location.hash = `#/pipelines/${id}?t=${Date.now()}`; }, 300);
        } catch (err) { error.textContent = err.message; }
      };
      return h("span", { class: "row" }, reason, h("button", { class: "approve-stage", disabled: !allowed, onclick: () => decide("approve") }, t("approve")),
        h("button", { class: "danger reject-stage", disabled: !allowed, onclick: () => decide("reject") }, t("reject")), error);
    } }], p.stages));
  main.append(h("h2", null, t("history")));
  const history = await api.get("/pipelines", { pipeline: p.pipeline, limit: 20 });
  main.append(table(pipelineColumns, history.items));
}

export async function auditPage(main, _m, params) {
  main.append(h("h1", null, t("audit")));
  const action = params.get("action") || "";
  const first = await api.get("/audit", { action, limit: 50 });
  const v = first.verification;
  main.append(h("p", { id: "verification" }, badge(v.ok ? "ok" : "bad"), " ", v.ok ? t("chain_ok") : t("chain_bad"), ` · ${v.n_entries} ${t("entries")}`));
  if (!v.ok) main.append(table([{ key: "seq", label: "seq" }, { key: "reason" }], v.problems));
  const input = h("input", { name: "action", value: action, size: 16 });
  const form = h("form", { class: "filters" }, h("label", null, t("action"), input), h("button", { type: "submit" }, t("filter")));
  form.addEventListener("submit", (e) => { e.preventDefault(); location.hash = "#/audit?action=" + encodeURIComponent(input.value); });
  main.append(form);
  let used = false;
  await paged(main, (cursor) => (used ? api.get("/audit", { action, cursor, limit: 50, verify: 0 }) : ((used = true), Promise.resolve(first))), (holder, items) => holder.append(table([
    { key: "seq", label: "seq", num: true }, { key: "time" }, { key: "actor", cell: (e) => e.actor || e.user }, { key: "action" }, { key: "object" },
    { key: "details", cell: (e) => (typeof e.details === "string" ? e.details : JSON.stringify(e.details)) }], items)));
}
