// The dashboard's charts: which series each plot shows, and the uPlot instances drawing them.
// A series is named by where its values sit in /api/stats: 'series.fps', 'viewers.rtmp',
// 'transport.rttMs' (see src/server/stats/snapshot.ts).
'use strict';

const COLORS = ['#7cc4ff', '#ffb454', '#7d7', '#e77', '#c9f', '#ddd', '#5dd', '#fd5', '#f8c'];
const pct = (v) => (v == null ? '-' : `${(v * 100).toFixed(2)}%`);
const two = (n) => String(n).padStart(2, '0');
/** One-line clock labels: uPlot's default adds a date line, twice the text to draw per chart. */
const clock = (u, vals) => vals.map((v) => {
  const d = new Date(v * 1000);
  return `${two(d.getHours())}:${two(d.getMinutes())}${d.getSeconds() ? `:${two(d.getSeconds())}` : ''}`;
});

/** Plots of every stream; `keys(h)` lists [label, key] for a stream's history `h`. */
const STREAM_CHARTS = [
  { name: 'bitrate', title: 'bitrate in / out (kb/s)', keys: () => [['in', 'series.bitrateInKbps'], ['out', 'series.bitrateOutKbps']] },
  { name: 'fps', title: 'frames per second', keys: () => [['fps', 'series.fps']] },
  { name: 'viewers', title: 'viewers by protocol', keys: (h) => Object.keys(h.viewers).sort().map((p) => [p, `viewers.${p}`]) },
  { name: 'delay', title: 'ingest delay (ms)', keys: () => [['delay', 'series.ingestDelayMs']] },
];

/** Plots of a transport publisher, from its sender's reports. */
const TRANSPORT_CHARTS = [
  { name: 'rtt', title: 'RTT (ms)', keys: () => [['rtt', 'transport.rttMs']] },
  { name: 'loss', title: 'loss before / after repair', fmt: pct, keys: () => [['before', 'transport.lossBeforeRepair'], ['after', 'transport.lossAfterRepair']] },
  { name: 'repair', title: 'FEC / resend share of packets', fmt: pct, keys: () => [['FEC', 'transport.fecShare'], ['resend', 'transport.retransmitShare']] },
  { name: 'rate', title: 'sending vs target (kb/s)', keys: () => [['sending', 'transport.sendingKbps'], ['target', 'transport.targetKbps']] },
];

/** Every [label, key] a history carries, by chart name. */
function chartKeys(h) {
  const out = new Map();
  for (const c of STREAM_CHARTS) out.set(c.name, c.keys(h));
  if (h.transport) for (const c of TRANSPORT_CHARTS) out.set(c.name, c.keys(h));
  return out;
}

function chartDef(name) {
  return STREAM_CHARTS.find((c) => c.name === name) ?? TRANSPORT_CHARTS.find((c) => c.name === name);
}

/**
 * One uPlot in its own box. `onFirstDraw` runs once, after uPlot's first draw of the canvas
 * (the page measures its load time with it).
 */
function makeChart(parent, name, keys, data, onFirstDraw) {
  const def = chartDef(name);
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.chart = name;
  // The title carries the legend (each series' colour and newest value): uPlot's own legend
  // is a table per chart, and two hundred of them cost more to lay out than the plots.
  const title = document.createElement('div');
  title.className = 'title';
  title.textContent = def.title;
  const legend = keys.map(([label], i) => {
    const span = document.createElement('span');
    span.className = 'key';
    span.style.color = COLORS[i % COLORS.length];
    span.dataset.label = label;
    title.append(' ', span);
    return span;
  });
  box.append(title);
  parent.append(box);
  let drawn = false;
  const fmt = def.fmt;
  const opts = {
    width: 330,
    height: 150,
    legend: { show: false },
    cursor: { show: true, drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min ?? 0), Math.max(max ?? 1, fmt ? 0.001 : 1) * 1.1] } },
    axes: [
      { stroke: '#888', grid: { stroke: '#2a2a2a' }, ticks: { stroke: '#2a2a2a' }, space: 80, values: clock },
      { stroke: '#888', grid: { stroke: '#2a2a2a' }, ticks: { stroke: '#2a2a2a' }, size: fmt ? 62 : 50, space: 40, ...(fmt ? { values: (u, vals) => vals.map(fmt) } : {}) },
    ],
    series: [{}, ...keys.map(([label], i) => ({ label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false, ...(fmt ? { value: (u, v) => fmt(v) } : {}) }))],
    hooks: {
      draw: [() => {
        if (drawn) return;
        drawn = true;
        onFirstDraw?.();
      }],
    },
  };
  const u = new uPlot(opts, data, box);
  const chart = { u, box, keys, name, legend, fmt };
  showLatest(chart);
  return chart;
}

/** Writes each series' newest value into the title. */
function showLatest(chart) {
  chart.legend.forEach((span, i) => {
    const values = chart.u.data[i + 1];
    let v = null;
    for (let k = values.length - 1; k >= 0 && v === null; k--) v = values[k];
    const text = v === null ? '-' : chart.fmt ? chart.fmt(v) : String(Math.round(v * 10) / 10);
    span.textContent = `${span.dataset.label} ${text}`;
  });
}
