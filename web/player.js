// The player page, /play/<app>/<key>[?proto=ws-flv|http-flv|ll-hls|whep|p2p][&quality=auto|NAME|source][&token=...].
// With WHEP, `&trickle=1` sends candidates by PATCH after the offer and `&relay=1` uses only
// TURN relays, as on the publish page.
// WS-FLV and HTTP-FLV play through mpegts.js, LL-HLS through hls.js (both served from /lib),
// WHEP through the browser's own WebRTC (web/webrtc.js). P2P (web/p2p.js, when the server's
// `p2p` section is on) feeds mpegts.js the FLV tags other viewers and the edge sent as slices;
// a viewer that cannot do P2P plays WS-FLV instead.
// A stream with a quality ladder (its master.m3u8 answers) gets a choice of rendition: `auto`
// (the default: the server picks per viewer for FLV, hls.js's ABR for LL-HLS), one rendition by
// name, or `source`. The panel shows the rendition playing.
// In a cluster, `&route=1` (not with P2P, which has its own edge) asks this page's node where to
// play (GET /api/route, by the viewer's region and the nodes' load) before each start, and
// plays the media from the node named; when that node is lost the page asks again, naming it
// in `avoid=` so the answer is another node even while the lost one's lease still runs. The
// page itself stays where it was opened, so losing a media node is not losing the page.
// `window.tributaryPlayer.stats` holds what the panel shows, for people and for tests.
'use strict';

const PROTOCOLS = ['ws-flv', 'http-flv', 'll-hls', 'whep', 'p2p'];
const [, , app, key] = location.pathname.split('/').map(decodeURIComponent);
const query = new URLSearchParams(location.search);
const proto = PROTOCOLS.includes(query.get('proto')) ? query.get('proto') : 'ws-flv';
const token = query.get('token');
const tokenQuery = token ? `?token=${encodeURIComponent(token)}` : '';
const video = document.getElementById('video');
const quality = query.get('quality') ?? 'auto';
const routed = query.get('route') === '1' && proto !== 'p2p';
const stats = { protocol: proto, latency: null, bitrateKbps: null, width: 0, height: 0, stalls: 0, state: 'connecting', errors: [], connections: [], quality, rendition: null, renditions: [] };
window.tributaryPlayer = { stats };

document.getElementById('title').textContent = `${app}/${key}`;
const nav = document.getElementById('protocols');
for (const p of PROTOCOLS) {
  const a = document.createElement('a');
  const q = new URLSearchParams(query);
  q.set('proto', p);
  a.href = `?${q}`;
  a.textContent = p;
  if (p === proto) a.className = 'on';
  nav.append(a);
}

function withToken(u) {
  const url = new URL(u, location.href);
  if (!url.searchParams.has('token')) url.searchParams.set('token', token);
  return url.href;
}

let engine = null;
let retryTimer = null;
/** Where the media comes from: this page's node, or in routed mode the node the route named. */
let mediaBase = location.origin;
/** Routed mode: the node playing now, and the one lost last (asked to be avoided). */
let mediaNode = null;
let failedNode = null;

function retry(reason) {
  stats.state = `retrying (${reason})`;
  stats.errors.push(String(reason));
  if (stats.errors.length > 20) stats.errors.shift();
  clearTimeout(retryTimer);
  // Routed, another node is asked for at once (the lost one avoided); else the same server
  // is tried again after a pause, as it is the only one.
  if (routed && mediaNode) failedNode = mediaNode;
  retryTimer = setTimeout(start, routed ? 300 : 2000);
}

/** Routed mode: asks this page's node which node to play from (throws on no answer). */
async function route() {
  const q = new URLSearchParams({ app, key });
  if (query.get('region')) q.set('region', query.get('region'));
  if (failedNode) q.set('avoid', failedNode);
  if (token) q.set('token', token);
  const res = await fetch(`/api/route?${q}`, { cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`route: ${res.status} ${body.error ?? ''}`.trim());
  mediaBase = body.httpBase;
  mediaNode = body.node;
  stats.node = body.node;
}

/**
 * Routed mode: each connection's node, when it started and when its first frame was painted
 * (wall clock, ms), the last 20: how long a viewer saw nothing when a node was lost.
 */
function recordConnection(gen) {
  const c = { node: mediaNode, startedAt: Date.now(), firstFrameAt: null };
  stats.connections.push(c);
  if (stats.connections.length > 20) stats.connections.shift();
  video.requestVideoFrameCallback?.(() => {
    if (gen === generation) c.firstFrameAt = Date.now();
  });
}

function startFlv(kind = proto) {
  const scheme = kind !== 'http-flv' ? (location.protocol === 'https:' ? 'wss:' : 'ws:') : location.protocol;
  const q = new URLSearchParams(token ? { token } : {});
  if (ladder.length > 0 && quality !== 'source') q.set('quality', quality);
  const qs = q.toString();
  const url = `${scheme}//${new URL(mediaBase).host}/${encodeURIComponent(app)}/${encodeURIComponent(key)}.flv${qs ? `?${qs}` : ''}`;
  const player = mpegts.createPlayer(
    { type: 'flv', isLive: true, url, hasAudio: true, hasVideo: true },
    { enableStashBuffer: false, liveBufferLatencyChasing: true, liveBufferLatencyMaxLatency: 1.5, liveBufferLatencyMinRemain: 0.3 },
  );
  player.on(mpegts.Events.ERROR, (type, detail) => retry(`${type} ${detail}`));
  player.on(mpegts.Events.LOADING_COMPLETE, () => retry('stream ended'));
  player.on(mpegts.Events.STATISTICS_INFO, (s) => {
    if (typeof s.speed === 'number') stats.bitrateKbps = Math.round(s.speed * 8);
  });
  player.attachMediaElement(video);
  player.load();
  video.play().catch(() => undefined);
  return { destroy: () => player.destroy() };
}

/**
 * hls.js's live ABR takes a rendition when the estimated bandwidth (the transfer, its time to
 * first byte left out) covers its bitrate, but parts are fetched one after another, so each
 * costs a round trip on top of its transfer: a part of D ms must arrive in D - RTT. At 200 ms
 * parts and 50 ms to the first byte, 240p (655 kbit/s) was picked on an 800 kbit/s link and
 * could not be carried (docs/benchmarks.md, issue 13). So both ABR factors are scaled by
 * 1 - RTT / D, with RTT the lowest time to first byte of the last parts (a request held for a
 * part not made yet waits longer; the lowest is the network's own).
 */
const roundTrip = {
  ttfbs: [],
  base: { down: null, up: null },
  sample(hls, part) {
    const s = part.stats.loading;
    if (!(s.first > s.start) || !(part.duration > 0)) return;
    this.ttfbs.push(s.first - s.start);
    if (this.ttfbs.length > 8) this.ttfbs.shift();
    if (this.base.down === null) this.base = { down: hls.config.abrBandWidthFactor, up: hls.config.abrBandWidthUpFactor };
    const keep = Math.max(0.3, 1 - Math.min(...this.ttfbs) / (part.duration * 1000));
    hls.config.abrBandWidthFactor = this.base.down * keep;
    hls.config.abrBandWidthUpFactor = this.base.up * keep;
    stats.abrRoundTripMs = Math.min(...this.ttfbs);
  },
};

function startHls() {
  // With a ladder, the multivariant playlist: hls.js picks among the renditions (auto) or keeps
  // the one asked for; `source` (or no ladder) plays the stream itself.
  const useLadder = ladder.length > 0 && quality !== 'source';
  const url = `${mediaBase}/${encodeURIComponent(app)}/${encodeURIComponent(key)}/${useLadder ? 'master' : 'index'}.m3u8${tokenQuery}`;
  if (!window.Hls || !Hls.isSupported()) {
    video.src = url; // Safari plays HLS natively
    return { destroy: () => video.removeAttribute('src'), latency: () => null, rendition: () => null };
  }
  // The playlist's PART-HOLD-BACK sets how far behind live hls.js plays in low-latency mode.
  const hls = new Hls({
    lowLatencyMode: true,
    backBufferLength: 10,
    // ABR: a live buffer is a second or two, so a link that drops must be seen within a
    // segment or two, not after hls.js's default 3 s half-life of loading time (it stalled
    // first). Up stays slow: the estimate is the lower of the fast and slow (9 s) averages.
    abrEwmaFastLive: 0.1,
    // Playlist URIs are relative and drop the query: put the play token back on every request.
    xhrSetup: token ? (xhr, u) => xhr.open('GET', withToken(u), true) : undefined,
    fetchSetup: token ? (ctx, init) => new Request(withToken(ctx.url), init) : undefined,
  });
  hls.on(Hls.Events.ERROR, (_e, d) => {
    if (d.fatal) retry(`${d.type} ${d.details}`);
  });
  // Media bitrate: bytes of each part (or segment) over the media time it holds. (Download
  // speed would say little here: parts arrive as fast as they are made.)
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => {
    const unit = d.part ?? d.frag;
    if (unit.duration > 0 && unit.stats.total > 0) stats.bitrateKbps = Math.round((unit.stats.total * 8) / unit.duration / 1000);
    if (d.part) roundTrip.sample(hls, d.part);
  });
  if (useLadder) {
    hls.on(Hls.Events.MANIFEST_PARSED, (_e, d) => {
      const fixed = d.levels.findIndex((l) => renditionName(l.name) === quality);
      if (fixed >= 0) hls.currentLevel = fixed;
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, () => {
      stats.renditionSwitches = (stats.renditionSwitches ?? -1) + 1;
    });
  }
  // The level hls.js plays now (its NAME, or the rendition of its height).
  const rendition = () => {
    const l = useLadder ? hls.levels?.[hls.currentLevel] : undefined;
    if (!l) return useLadder ? null : ladder.length ? 'source' : null;
    return (l.name && renditionName(l.name)) || ladder.find((r) => r.height === l.height)?.name || null;
  };
  // For diagnostics and benches (its events: level switches, loads, stalls).
  window.tributaryPlayer.hls = hls;
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch(() => undefined);
  return { destroy: () => hls.destroy(), latency: () => hls.latency, rendition };
}

/** WHEP: a recvonly peer connection; latency is the jitter buffer's delay (getStats). */
function startWhep() {
  const opts = { trickle: query.get('trickle') === '1', relayOnly: query.get('relay') === '1' };
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const media = new MediaStream();
  pc.addEventListener('track', (e) => {
    media.addTrack(e.track);
    video.srcObject = media;
    video.play().catch(() => undefined);
  });
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'failed') retry('WebRTC connection failed');
  });
  let session = null;
  const url = new URL(`/whep/${encodeURIComponent(app)}/${encodeURIComponent(key)}`, mediaBase).href;
  window.tributaryWebrtc.webrtcSignal(url, pc, token, opts).then((s) => (session = s), (err) => retry(err.message));
  let last = { bytes: 0, t: 0 };
  const timer = setInterval(async () => {
    stats.trickle = pc.tributaryTrickle ?? null; // set by webrtcSignal once it starts
    const report = await pc.getStats();
    // The pair ICE chose: its local side is "relay" when the media comes through TURN.
    report.forEach((r) => {
      if (r.type !== 'transport' || !r.selectedCandidatePairId) return;
      const pair = report.get(r.selectedCandidatePairId);
      const local = report.get(pair?.localCandidateId);
      stats.localCandidateType = local?.candidateType ?? null;
      stats.localCandidate = local ? `${local.address}:${local.port}` : null;
      stats.remoteCandidateType = report.get(pair?.remoteCandidateId)?.candidateType ?? null;
    });
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') stats.audioPacketsReceived = r.packetsReceived;
      if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
      stats.framesDecoded = r.framesDecoded ?? 0;
      if (r.jitterBufferEmittedCount) stats.whepDelay = r.jitterBufferDelay / r.jitterBufferEmittedCount;
      const t = r.timestamp;
      if (last.t) stats.bitrateKbps = Math.round(((r.bytesReceived - last.bytes) * 8) / (t - last.t));
      last = { bytes: r.bytesReceived, t };
    });
  }, 1000);
  return {
    destroy: () => {
      clearInterval(timer);
      window.tributaryWebrtc.webrtcHangUp(session, pc);
    },
    latency: () => stats.whepDelay ?? null,
    countsFrames: true,
  };
}

/**
 * P2P: slices in order, as FLV bytes, into mpegts.js through a loader of its own (mpegts.js's
 * customLoader). P2P failing to start (no WebRTC, P2P off, nothing played in time) falls back
 * to WS-FLV from the edge, for this page's life.
 */
function startP2pEngine() {
  const feed = { loader: null, pending: [] };
  const push = (bytes) => {
    if (!feed.loader) return void feed.pending.push(bytes);
    const ab = bytes.slice().buffer;
    const start = feed.loader.received;
    feed.loader.received += ab.byteLength;
    feed.loader.onDataArrival?.(ab, start, feed.loader.received);
  };
  class SliceLoader extends mpegts.BaseLoader {
    constructor() {
      super('p2p-slice-loader');
      this._needStash = false;
      this.received = 0;
    }
    open() {
      this._status = mpegts.LoaderStatus.kBuffering;
      feed.loader = this;
      for (const b of feed.pending.splice(0)) push(b);
    }
    abort() {
      this._status = mpegts.LoaderStatus.kComplete;
      if (feed.loader === this) feed.loader = null;
    }
  }
  const player = mpegts.createPlayer(
    { type: 'flv', isLive: true, url: `p2p://${app}/${key}`, hasAudio: true, hasVideo: true },
    { customLoader: SliceLoader, enableStashBuffer: false, liveBufferLatencyChasing: true, liveBufferLatencyMaxLatency: 1.5, liveBufferLatencyMinRemain: 0.3 },
  );
  let session = null;
  let over = false;
  const fallBack = (reason) => {
    if (over) return;
    over = true;
    session?.destroy();
    player.destroy();
    stats.p2pFallback = String(reason);
    stats.protocol = `ws-flv (p2p: ${reason})`;
    engine = startFlv('ws-flv');
  };
  player.on(mpegts.Events.ERROR, (type, detail) => fallBack(`${type} ${detail}`));
  player.attachMediaElement(video);
  player.load();
  video.play().catch(() => undefined);
  import('/web/p2p.js').then(
    (m) => {
      if (over) return;
      session = m.startP2p({ app, key, token, onInit: (b, first) => push(first ? b : b.subarray(13)), onBytes: push, onFail: fallBack });
      stats.p2p = session.stats;
    },
    (err) => fallBack(`module: ${err.message}`),
  );
  return {
    destroy: () => {
      over = true;
      session?.destroy();
      player.destroy();
    },
  };
}

/** The ladder's renditions, best first, from the stream's master.m3u8 ([] without a ladder). */
let ladder = [];

/** A rendition's short name: NAME in the master playlist is its stream key, KEY_NAME. */
function renditionName(n) {
  return n.startsWith(`${key}_`) ? n.slice(key.length + 1) : n;
}

async function findLadder() {
  try {
    const res = await fetch(`${mediaBase}/${encodeURIComponent(app)}/${encodeURIComponent(key)}/master.m3u8${tokenQuery}`, { cache: 'no-store' });
    if (!res.ok) return [];
    const out = [];
    for (const line of (await res.text()).split('\n')) {
      if (!line.startsWith('#EXT-X-STREAM-INF:')) continue;
      const name = /NAME="([^"]*)"/.exec(line)?.[1];
      const height = Number(/RESOLUTION=\d+x(\d+)/.exec(line)?.[1] ?? 0);
      if (name) out.push({ name: renditionName(name), height });
    }
    return out;
  } catch {
    return [];
  }
}

/** Links to each choice, as the protocols' (a choice reloads the page with it). */
function showQualities() {
  const nav = document.getElementById('qualities');
  nav.replaceChildren();
  if (ladder.length === 0 || proto === 'whep' || proto === 'p2p') return;
  for (const name of ['auto', ...ladder.map((r) => r.name), 'source']) {
    const a = document.createElement('a');
    const q = new URLSearchParams(query);
    q.set('quality', name);
    a.href = `?${q}`;
    a.textContent = name;
    if (name === quality) a.className = 'on';
    nav.append(a);
  }
}

/** The rendition on screen: hls.js says; for FLV, the one whose height the picture has. */
function currentRendition() {
  if (engine?.rendition) return engine.rendition();
  if (ladder.length === 0 || proto === 'whep' || proto === 'p2p') return null;
  if (quality === 'source') return 'source';
  return ladder.find((r) => r.height === video.videoHeight)?.name ?? (video.videoHeight ? 'source' : null);
}

/** Counts starts, so a routed start whose route answer comes back late does not start twice. */
let generation = 0;

async function start() {
  const gen = ++generation;
  engine?.destroy();
  engine = null;
  stats.state = 'connecting';
  if (routed) {
    try {
      await route();
    } catch (err) {
      if (gen === generation) retry(err.message);
      return;
    }
    if (gen !== generation) return;
    recordConnection(gen);
  }
  engine = proto === 'll-hls' ? startHls() : proto === 'whep' ? startWhep() : proto === 'p2p' ? startP2pEngine() : startFlv();
}

let playing = false;
video.addEventListener('playing', () => {
  playing = true;
  stats.state = 'playing';
});
video.addEventListener('waiting', () => {
  if (playing) stats.stalls++;
  stats.state = 'buffering';
});

function liveLatency() {
  if (engine?.latency) return engine.latency();
  const b = video.buffered;
  return b.length ? b.end(b.length - 1) - video.currentTime : null;
}

function show(id, text) {
  document.getElementById(id).textContent = text;
}

setInterval(() => {
  const l = liveLatency();
  stats.latency = typeof l === 'number' && Number.isFinite(l) ? Math.round(l * 1000) / 1000 : null;
  stats.width = video.videoWidth;
  stats.height = video.videoHeight;
  // WHEP counts the decoder's frames from getStats; the element's count lags it, and writing
  // both made the figure step back (CI saw 22 after >30).
  const q = video.getVideoPlaybackQuality?.();
  if (q && !engine?.countsFrames) stats.framesDecoded = q.totalVideoFrames;
  show('s-protocol', stats.protocol);
  const p = stats.p2p;
  show('s-p2p', p ? `${Math.round(p.share * 100)}% from ${p.channels} peers (${(p.peerBytes / 1e6).toFixed(2)} of ${((p.peerBytes + p.edgeBytes) / 1e6).toFixed(2)} MB)` : '-');
  show('s-latency', stats.latency === null ? '-' : `${stats.latency.toFixed(2)} s`);
  show('s-bitrate', stats.bitrateKbps === null ? '-' : `${stats.bitrateKbps} kb/s`);
  show('s-resolution', stats.width ? `${stats.width}x${stats.height}` : '-');
  stats.rendition = currentRendition();
  show('s-rendition', stats.rendition === null ? '-' : `${stats.rendition}${ladder.length ? ` (${quality})` : ''}`);
  show('s-stalls', String(stats.stalls));
  const t = stats.trickle;
  show('s-ice', stats.localCandidateType ? `${stats.localCandidateType} / ${stats.remoteCandidateType}` : '-');
  show('s-trickle', t ? `${t.candidates} candidates in ${t.patches} PATCHes${t.ended ? ', ended' : ''}${t.errors.length ? `; ${t.errors.at(-1)}` : ''}` : '-');
  show('s-state', stats.state);
}, 500);

// A WHEP session is ended with DELETE, not left for the server to reap.
window.addEventListener('pagehide', () => engine?.destroy());

// WHEP and P2P carry the stream itself; the others ask for the ladder first (routed: of the
// node the first route names).
const firstRoute = routed ? route().catch(() => undefined) : Promise.resolve();
firstRoute.then(() => (proto === 'whep' || proto === 'p2p' ? [] : findLadder())).then((l) => {
  ladder = l;
  stats.renditions = l.map((r) => r.name);
  showQualities();
  start();
});
