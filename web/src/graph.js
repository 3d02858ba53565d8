// Directed graphs (lineage, pipeline stages) laid out by dagre and drawn as
// SVG; a node with an href is a link.
import dagre from "@dagrejs/dagre";

const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// nodes: [{id, label, classes, href}], edges: [{from, to}].
export function drawDag(parent, nodes, edges, { rankdir = "LR" } = {}) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir, nodesep: 18, ranksep: 42, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: Math.min(260, 16 + 7 * n.label.length), height: 30, node: n });
  for (const e of edges) if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const { width, height } = g.graph();
  const svg = el("svg", { width: Math.max(width, 100), height: Math.max(height, 40), class: "dag-svg" });
  const defs = el("defs");
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#98a2b3" }));
  defs.append(marker);
  svg.append(defs);
  for (const e of g.edges()) {
    const pts = g.edge(e).points;
    svg.append(el("path", { d: "M" + pts.map((p) => `${p.x},${p.y}`).join(" L") }));
  }
  for (const id of g.nodes()) {
    const n = g.node(id);
    const group = el("g", { class: "node " + (n.node.classes || ""), transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`, "data-id": id });
    group.append(el("rect", { width: n.width, height: n.height }));
    const label = el("text", { x: 8, y: 19 });
    label.textContent = n.node.label.length > 36 ? n.node.label.slice(0, 35) + "…" : n.node.label;
    group.append(label);
    const title = el("title");
    title.textContent = n.node.label;
    group.append(title);
    if (n.node.href) group.addEventListener("click", () => { location.hash = n.node.href; });
    svg.append(group);
  }
  const box = document.createElement("div");
  box.className = "dag";
  box.append(svg);
  parent.append(box);
  return box;
}
