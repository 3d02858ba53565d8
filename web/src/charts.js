// Line charts with uPlot: drag to zoom (double-click resets), the legend
// shows values under the cursor, several series overlaid (runs aligned on
// their steps with uPlot.join), optional EMA smoothing as TensorBoard does.
// Every chart's data is kept in window.enclaveCharts (title -> series) so a
// test can check what is drawn.
import uPlot from "uplot";

const palette = ["#2457d6", "#d92d20", "#12b76a", "#f79009", "#7a5af8", "#0e9384"];
window.enclaveCharts = window.enclaveCharts || {};

export function smooth(values, weight) {
  if (!weight) return values;
  let last = null;
  return values.map((v) => {
    if (v === null || v === undefined || !Number.isFinite(v)) return v;
    last = last === null ? v : last * weight + (1 - weight) * v;
    return last;
  });
}

// series: [{label, points: [[x, y], ...]}]; x numbers (steps or unix seconds).
export function lineChart(parent, { title, series, weight = 0, time = false, height = 220 }) {
  const box = document.createElement("div");
  box.className = "chart";
  box.dataset.title = title;
  const h = document.createElement("h3");
  h.textContent = title;
  box.append(h);
  parent.append(box);
  const usable = series.filter((s) => s.points.length > 0);
  window.enclaveCharts[title] = usable.map((s) => ({ label: s.label, points: s.points }));
  if (usable.length === 0) return box;
  const tables = usable.map((s) => {
    const sorted = [...s.points].sort((a, b) => a[0] - b[0]);
    return [sorted.map((p) => p[0]), smooth(sorted.map((p) => (p[1] === null ? null : Number(p[1]))), weight)];
  });
  const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
  const width = Math.max(300, (box.clientWidth || 460) - 14);
  const opts = {
    width, height,
    scales: { x: { time } },
    series: [{ label: time ? "time" : "step" },
      ...usable.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
        points: { show: s.points.length < 40 } }))],
    // Steps are whole numbers; small values (learning rates) keep their digits.
    axes: [time ? {} : { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] },
      { size: 64, values: (u, vals) => vals.map((v) => (v === null ? "" : v !== 0 && Math.abs(v) < 0.01 ? v.toExponential(1) : String(+v.toPrecision(4)))) }],
    cursor: { drag: { x: true, y: false } },
  };
  new uPlot(opts, data, box);
  return box;
}
