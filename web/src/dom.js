// Small DOM helpers: h() builds elements, table() a table from rows.
import { t } from "./i18n.js";

export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// A status badge: its class from the status, its text the status or label.
export const badge = (s, label) => h("span", { class: "badge " + String(s).replace(/[^a-z_]/g, "") }, label === undefined ? s : label);
export const link = (href, text) => h("a", { href }, text);

export function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 1000 || Math.abs(v) < 0.001 ? v.toPrecision(4) : v.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// columns: [{key|label, cell(row) -> node|text, num}]
export function table(columns, rows) {
  const head = h("tr", null, columns.map((c) => h("th", null, c.label || t(c.key))));
  const body = rows.map((r) => h("tr", null, columns.map((c) => {
    const v = c.cell ? c.cell(r) : r[c.key];
    return h("td", { class: c.num ? "num" : null }, v instanceof Node ? v : fmt(v));
  })));
  if (rows.length === 0) body.push(h("tr", null, h("td", { colspan: columns.length, class: "muted" }, t("nothing"))));
  return h("table", null, h("thead", null, head), h("tbody", null, body));
}

// A key/value table of an object.
export function kv(obj) {
  return table([{ key: "name" }, { key: "value", cell: (r) => (typeof r.value === "object" && r.value !== null ? h("pre", null, JSON.stringify(r.value, null, 1)) : fmt(r.value)) }],
    Object.entries(obj || {}).map(([name, value]) => ({ name, value })));
}

// A listing with a "More" button that follows next_cursor.
export async function paged(parent, fetchPage, render) {
  let cursor = null;
  const more = h("button", { class: "secondary" }, t("more"));
  const holder = h("div");
  parent.append(holder);
  async function load() {
    const page = await fetchPage(cursor);
    render(holder, page.items, cursor === null);
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", load);
  parent.append(h("p", null, more));
  await load();
}

export function messageBox(parent, text, cls = "error") {
  const p = h("p", { class: cls }, text);
  parent.append(p);
  return p;
}
