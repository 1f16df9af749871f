// A browser viewer as a P2P peer (the player page's `proto=p2p`): the same core the edge runs
// (src/p2p, served as ES modules at /p2p-js/) driven by this page's clock, the edge's
// signalling WebSocket and data channels to other viewers (p2pLinks.js). What the core plays
// comes out as FLV tags in order; `onBytes` hands them, after the edge's init bytes, to
// mpegts.js. Anything that stops P2P from starting calls `onFail` once, and the page plays
// from the edge as it always did.
import { decode, encode } from '/p2p-js/p2p/codec.js';
import { Peer } from '/p2p-js/p2p/Peer.js';
import { sha256 } from '/p2p-js/p2p/sha256.js';
import { Links } from '/web/p2pLinks.js';

const EDGE = 0;
const MSG_SLICE = 39; // messages.ts Msg.Slice (a const enum: compiled away, so named here)
const START_TIMEOUT_MS = 10000;

function b64(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

export function startP2p({ app, key, token, onInit, onBytes, onFail }) {
  const stats = { peerBytes: 0, edgeBytes: 0, share: 0, neighbours: 0, channels: 0, id: 0, started: false, links: null, core: null };
  if (typeof RTCPeerConnection === 'undefined') {
    onFail('no WebRTC');
    return { stats, destroy() {} };
  }
  const linkStats = { sentBytes: 0, receivedBytes: 0, tooBig: 0, queueDropped: 0, openTimeouts: 0, channelsOpened: 0, garbage: 0, pairs: [] };
  stats.links = linkStats;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  const ws = new WebSocket(`${scheme}//${location.host}/p2p/${encodeURIComponent(app)}/${encodeURIComponent(key)}${q}`);
  ws.binaryType = 'arraybuffer';
  let offset = 0; // edge clock - performance.now(), the largest seen (the least transit)
  let peer = null;
  let links = null;
  let timer = 0;
  let failed = false;
  let initSent = false;
  let rtc = {};
  const now = () => performance.now() + offset;
  // Before P2P plays: the page falls back to the edge's FLV. After: the page's own retry.
  const fail = (reason) => {
    if (failed) return;
    failed = true;
    destroy();
    onFail(reason);
  };
  const startTimer = setTimeout(() => fail('nothing played in time'), START_TIMEOUT_MS);

  // What the core's player did, for the panel and `bench p2p --real` (delays: the newest 20,000).
  const play = { startupMs: null, played: 0, onTime: 0, missed: 0, playedBytes: 0, delays: [] };
  stats.play = play;
  const sink = {
    started: (ms) => {
      stats.started = true;
      play.startupMs = ms;
      clearTimeout(startTimer);
    },
    played: (delayMs, onTime, bytes) => {
      play.played++;
      if (onTime) play.onTime++;
      play.playedBytes += bytes;
      if (play.delays.length >= 20000) play.delays.shift();
      play.delays.push(Math.round(delayMs));
    },
    missed: () => void play.missed++,
    decode: (_seq, payload) => onBytes(payload),
  };

  function pump() {
    if (!peer) return;
    const t = now();
    if (links) peer.setBacklog((links.buffered() * 8) / Math.max(1, peer.opts.uploadKbps));
    peer.poll(t);
    for (const { to, msg } of peer.drain()) {
      let bytes;
      try {
        bytes = encode(msg);
      } catch {
        continue; // a slice too big for the wire: the neighbour pulls it elsewhere
      }
      if (to === EDGE) {
        if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
      } else links?.send(to, bytes);
    }
    stats.id = peer.id;
    stats.neighbours = peer.neighbours.size;
    stats.channels = links?.open ?? 0;
    const total = stats.peerBytes + stats.edgeBytes;
    stats.share = total ? stats.peerBytes / total : 0;
    clearTimeout(timer);
    timer = setTimeout(pump, Math.max(5, Math.min(1000, peer.wakeAt - now())));
  }

  function fromPeer(id, bytes) {
    let msg;
    try {
      msg = decode(bytes);
    } catch {
      peer.receiveBytes(now(), id, bytes); // the core counts it against the sender
      return pump();
    }
    if (msg.t === MSG_SLICE) stats.peerBytes += msg.payload.length;
    peer.receive(now(), id, msg);
    pump();
  }

  function onSetup(m) {
    offset = m.now - performance.now();
    stats.core = m.core;
    rtc = { iceServers: m.rtc?.iceServers ?? [], iceTransportPolicy: m.rtc?.iceTransportPolicy === 'relay' ? 'relay' : 'all' };
    if (m.init) {
      onInit(b64(m.init), true);
      initSent = true;
    }
    peer = new Peer({ config: m.core, region: 0, isp: 0, uploadKbps: m.uploadKbps, reachable: true, hash: sha256, seed: (Math.random() * 2 ** 31) | 0, sink });
    peer.start(now());
    pump();
  }

  ws.onmessage = (e) => {
    if (typeof e.data === 'string') {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      if (m.t === 'setup' && !peer) return onSetup(m);
      if (m.t === 'clock' && typeof m.now === 'number') offset = Math.max(offset, m.now - performance.now());
      else if (m.t === 'init' && typeof m.init === 'string') {
        onInit(b64(m.init), !initSent);
        initSent = true;
      } else if (m.t === 'signal' && links) links.onSignal(m.from, m.data);
      return;
    }
    if (!peer) return;
    let msg;
    try {
      msg = decode(new Uint8Array(e.data));
    } catch {
      return;
    }
    if (msg.t === MSG_SLICE) stats.edgeBytes += msg.payload.length;
    peer.receive(now(), EDGE, msg);
    // The id comes with the edge's Welcome: links need it to break offer glare.
    if (!links && peer.id) {
      links = new Links({ rtc, myId: peer.id, signal, onMessage: fromPeer, stats: linkStats });
    }
    pump();
  };
  function signal(to, data) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: 'signal', to, data }));
  }
  ws.onclose = (e) => fail(`signalling closed (${e.code}${e.reason ? ' ' + e.reason : ''})`);
  ws.onerror = () => fail('signalling failed');

  function destroy() {
    clearTimeout(timer);
    clearTimeout(startTimer);
    if (peer && ws.readyState === WebSocket.OPEN) {
      peer.leave();
      for (const { to, msg } of peer.drain()) if (to === EDGE) ws.send(encode(msg));
    }
    peer = null;
    links?.close();
    ws.onclose = null;
    ws.close();
  }
  return { stats, destroy };
}
