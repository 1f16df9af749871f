// The operator's dashboard on /dashboard: loads the history from GET /api/stats once, then
// every interval asks only for the samples after the newest it has (?since=) and appends them.
// One uPlot per plot; the page keeps at most `capacity` samples, as the server does.
// A stream's plots are built when its section comes near the viewport and redrawn only while
// it is there: fifty streams are two hundred plots, and drawing those nobody sees would cost
// more than everything else the page does. Tables and titles stay current for all.
'use strict';

const state = {
  /** Sample times, seconds (uPlot's x), shared by every stream. */
  T: [],
  lastMs: undefined,
  capacity: 600,
  intervalMs: 1000,
  /** path -> { section, arrays: key -> values aligned with T, charts: name -> chart, tables } */
  streams: new Map(),
  pendingDraws: 0,
  errors: [],
};

const near = new IntersectionObserver((entries) => {
  window.tributaryDashboard.timing.observed ??= performance.now();
  for (const e of entries) {
    const s = state.streams.get(e.target.dataset.path);
    if (!s) continue;
    s.visible = e.isIntersecting;
    if (s.visible) render(s);
  }
}, { rootMargin: '100px 0px' });

/** What tests and people in the console read: the data behind every plot, and load timing. */
window.tributaryDashboard = {
  drawnAt: undefined,
  firstSnapshotBytes: undefined,
  /** The first load's phases, ms since navigation start: request sent, body read, parsed, plots built. */
  timing: { script: performance.now() },
  updates: 0,
  errors: state.errors,
  streams: () => [...state.streams.keys()],
  chartCount: () => [...state.streams.values()].reduce((n, s) => n + s.charts.size, 0),
  /** The uPlot data of one plot: [x seconds, ...series], and the series labels. */
  plot(path, name) {
    const c = state.streams.get(path)?.charts.get(name);
    return c ? { labels: c.keys.map(([l]) => l), data: c.u.data } : undefined;
  },
  /** Builds and draws every stream's plots, in view or not (the bench's all-plots figure). */
  drawAll() {
    for (const s of state.streams.values()) {
      s.visible = true;
      render(s);
    }
  },
  allDrawnAt: undefined,
  tables(path) {
    const s = state.streams.get(path);
    if (!s) return undefined;
    const rows = (el) => [...el.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent));
    return { links: rows(s.links), paths: rows(s.paths) };
  },
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function table(head) {
  const t = el('table', 'links');
  const tr = el('tr');
  for (const h of head) tr.append(el('th', '', h));
  t.append(el('thead'), el('tbody'));
  t.tHead.append(tr);
  return t;
}

function fillTable(t, rows) {
  const body = t.tBodies[0];
  body.replaceChildren(...rows.map((r) => {
    const tr = el('tr');
    for (const [text, cls] of r) tr.append(el('td', cls ?? '', String(text)));
    return tr;
  }));
  t.hidden = rows.length === 0;
}

/** Values of `key` in history `h` ('series.fps' -> h.series.fps), or undefined. */
function valuesOf(h, key) {
  const dot = key.indexOf('.');
  const group = key.slice(0, dot);
  const name = key.slice(dot + 1);
  const src = group === 'transport' ? h.transport?.series : h[group];
  return src?.[name];
}

function newStream(h) {
  const section = el('section', 'stream');
  section.dataset.path = h.path;
  const title = el('h2', '', h.path);
  const sub = el('small');
  title.append(sub);
  const charts = el('div', 'charts');
  const transport = el('div');
  const links = table(['link (sender)', 'state', 'share', 'RTT ms', 'loss', 'sending kb/s', 'target kb/s']);
  const paths = table(['path (at server)', 'state', 'receive kb/s']);
  transport.append(el('h3', '', 'bonded links'), links, paths);
  transport.hidden = true;
  section.append(title, charts, transport);
  return { section, sub, chartsEl: charts, transport, links, paths, arrays: new Map(), charts: new Map(), keySig: '', visible: false };
}

/** Appends one snapshot (full or since the last) to the page's arrays, then redraws. */
function merge(snap) {
  const n0 = state.T.length;
  for (const t of snap.t) state.T.push(t / 1000);
  const n1 = state.T.length;
  if (snap.t.length) state.lastMs = snap.t[snap.t.length - 1];
  state.capacity = snap.capacity;
  state.intervalMs = snap.intervalMs;
  const seen = new Set();
  for (const h of snap.streams) {
    seen.add(h.path);
    let s = state.streams.get(h.path);
    if (!s) {
      s = newStream(h);
      state.streams.set(h.path, s);
      document.getElementById('streams').append(s.section);
      near.observe(s.section);
    }
    s.history = h;
    for (const keys of chartKeys(h).values()) {
      for (const [, key] of keys) {
        let arr = s.arrays.get(key);
        const v = valuesOf(h, key) ?? [];
        // The first answer's arrays become the page's own (no copy of 300,000 values).
        if (!arr && n0 === 0 && h.start === 0) {
          s.arrays.set(key, v);
          continue;
        }
        if (!arr) s.arrays.set(key, (arr = new Array(n0).fill(null)));
        for (let i = 0; i < h.start; i++) arr.push(null);
        for (const x of v) arr.push(x);
      }
    }
    for (const arr of s.arrays.values()) while (arr.length < n1) arr.push(null);
  }
  for (const [path, s] of state.streams) {
    if (seen.has(path)) continue;
    for (const c of s.charts.values()) c.u.destroy();
    near.unobserve(s.section);
    s.section.remove();
    state.streams.delete(path);
  }
  const drop = state.T.length - state.capacity;
  if (drop > 0) {
    state.T.splice(0, drop);
    for (const s of state.streams.values()) for (const arr of s.arrays.values()) arr.splice(0, drop);
  }
  if (n0 === 0) markInView();
  for (const s of state.streams.values()) render(s);
}

/**
 * At the first answer, the streams in view are built in the same task: waiting for the
 * observer's first report costs a whole frame (style, layout and paint of fifty empty
 * sections) before any plot exists. One layout here; the observer takes over from then on.
 */
function markInView() {
  const top = -100;
  const bottom = window.innerHeight + 100;
  const rects = [...state.streams.values()].map((s) => [s, s.section.getBoundingClientRect()]);
  for (const [s, r] of rects) s.visible = r.bottom >= top && r.top <= bottom;
}

function render(s) {
  const h = s.history;
  s.sub.textContent = h.publisher ? `${h.publisher.protocol} from ${h.publisher.address}` : 'no publisher';
  renderTables(s, h.transport);
  if (!s.visible) return;
  const keys = chartKeys(h);
  const sig = JSON.stringify([...keys]);
  if (sig !== s.keySig) {
    // New plots (a transport publisher's first report, a new viewer protocol): rebuilt.
    for (const c of s.charts.values()) c.u.destroy();
    s.chartsEl.replaceChildren();
    s.charts.clear();
    for (const [name, k] of keys) {
      state.pendingDraws++;
      s.charts.set(name, makeChart(s.chartsEl, name, k, [state.T, ...k.map(([, key]) => s.arrays.get(key))], firstDraw));
    }
    s.keySig = sig;
  } else {
    for (const c of s.charts.values()) {
      c.u.setData([state.T, ...c.keys.map(([, key]) => s.arrays.get(key))]);
      showLatest(c);
    }
  }
}

function renderTables(s, t) {
  s.transport.hidden = !t;
  if (!t) return;
  fillTable(s.links, t.links.map((l) => [[l.link], [l.state, `state-${l.state}`], [`${(l.share * 100).toFixed(1)}%`], [l.rttMs], [`${(l.loss * 100).toFixed(2)}%`], [Math.round(l.sendingBps / 1000)], [Math.round(l.targetBps / 1000)]]));
  fillTable(s.paths, t.paths.map((p) => [[p.address], [p.state, `state-${p.state}`], [p.receiveKbps]]));
}

/** drawnAt: every plot built so far drew once (at load: those of the streams in view); allDrawnAt: every stream's. */
function firstDraw() {
  state.pendingDraws--;
  if (state.pendingDraws !== 0) return;
  const d = window.tributaryDashboard;
  d.drawnAt ??= performance.now();
  if (d.allDrawnAt === undefined && [...state.streams.values()].every((s) => s.charts.size > 0)) d.allDrawnAt = performance.now();
}

function renderCluster(cluster) {
  const box = document.getElementById('cluster');
  box.hidden = !cluster;
  if (!cluster) return;
  const t = box.querySelector('table') ?? box.appendChild(table(['node', 'address', 'state', 'streams', 'viewers', 'load']));
  if (!box.querySelector('h2')) box.prepend(el('h2', '', 'cluster nodes'));
  fillTable(t, cluster.nodes.map((n) => [[n.id], [n.address], [n.state], [n.streams], [n.viewers], [`${Math.round(n.load * 100)}%`]]));
}

async function load(since) {
  const url = since === undefined ? '/api/stats' : `/api/stats?since=${since}`;
  const timing = window.tributaryDashboard.timing;
  const early = since === undefined ? window.tributaryFirstStats : undefined;
  if (early) window.tributaryFirstStats = undefined;
  if (since === undefined) timing.request = early?.request ?? performance.now();
  // Same origin: the tributary_api cookie (from /dashboard?token=...) goes with it.
  const res = await (early?.response ?? fetch(url, { cache: 'no-store', credentials: 'same-origin' }));
  if (!res.ok) throw new Error(`${url}: ${res.status} ${(await res.text()).trim()}`);
  const text = await res.text();
  if (since === undefined) {
    timing.body = performance.now();
    window.tributaryDashboard.firstSnapshotBytes = text.length;
  }
  const snap = JSON.parse(text);
  if (since === undefined) timing.parsed = performance.now();
  return snap;
}

async function tick() {
  const status = document.getElementById('status');
  try {
    const snap = await load(state.lastMs);
    merge(snap);
    renderCluster(snap.cluster);
    window.tributaryDashboard.timing.built ??= performance.now();
    window.tributaryDashboard.updates++;
    const n = state.streams.size;
    status.textContent = n === 0 ? 'no streams' : '';
    document.getElementById('summary').textContent =
      `${n} stream${n === 1 ? '' : 's'}${snap.untrackedStreams ? ` (+${snap.untrackedStreams} not followed)` : ''} · ${state.T.length} samples`;
  } catch (err) {
    state.errors.push(String(err));
    status.textContent = String(err);
  }
  setTimeout(tick, state.intervalMs);
}

tick();
