// WHIP / WHEP signalling for the publish and player pages (RFC 9725). Before the offer, an
// OPTIONS on the endpoint (with the token) brings the server's STUN/TURN servers as Link
// headers, so they are in the offer's gathering. Then either one POST of a complete offer
// (candidates gathered first) or, with `trickle`, the POST at once and each candidate after
// it by PATCH (application/trickle-ice-sdpfrag, If-Match: the session's ETag). DELETE ends it.
(() => {
'use strict';

/** Waits until the offer carries its candidates (or 2 s: what is there by then is sent). */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, 2000);
  });
}

/** RTCIceServer entries from Link header values: `<turn:h?transport=udp>; rel="ice-server"; username="u"; credential="p"`. */
function iceServersFromLinks(value) {
  const out = [];
  for (const m of (value ?? '').matchAll(/<([^>]+)>((?:\s*;\s*[a-z-]+=(?:"[^"]*"|[^;,]*))*)/g)) {
    const params = {};
    for (const p of m[2].matchAll(/;\s*([a-z-]+)=(?:"([^"]*)"|([^;,]*))/g)) params[p[1]] = p[2] ?? p[3];
    if (params.rel !== 'ice-server') continue;
    out.push(params.username !== undefined ? { urls: m[1], username: params.username, credential: params.credential } : { urls: m[1] });
  }
  return out;
}

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The endpoint's ICE servers (none when the server names none or the OPTIONS fails). */
async function iceServersOf(endpoint, token) {
  try {
    const res = await fetch(endpoint, { method: 'OPTIONS', headers: authHeaders(token) });
    return iceServersFromLinks(res.headers.get('Link'));
  } catch {
    return [];
  }
}

/**
 * Collects `pc`'s candidates from now on and, once the session URL and ETag are known, sends
 * them in order, a batch per PATCH, with end-of-candidates last. `stats` says what was sent.
 */
function trickler(pc, token) {
  const queue = [];
  const stats = { patches: 0, candidates: 0, ended: false, lastStatus: null, errors: [] };
  let target;
  let ended = false;
  let chain = Promise.resolve();
  const frag = (batch, end) => {
    const sdp = pc.localDescription.sdp;
    const lines = [`a=ice-ufrag:${/a=ice-ufrag:(\S+)/.exec(sdp)[1]}`, `a=ice-pwd:${/a=ice-pwd:(\S+)/.exec(sdp)[1]}`];
    const byMid = new Map();
    for (const c of batch) byMid.set(c.sdpMid, [...(byMid.get(c.sdpMid) ?? []), c.candidate]);
    for (const [mid, cands] of byMid) lines.push('m=audio 9 UDP/TLS/RTP/SAVPF 0', `a=mid:${mid}`, ...cands.map((c) => `a=${c}`));
    if (end) lines.push('a=end-of-candidates');
    return lines.join('\r\n') + '\r\n';
  };
  const flush = () => {
    if (!target || (queue.length === 0 && !(ended && !stats.ended))) return;
    const batch = queue.splice(0);
    const end = ended && !stats.ended;
    if (end) stats.ended = true;
    chain = chain.then(async () => {
      const res = await fetch(target.url, { method: 'PATCH', headers: { ...authHeaders(token), 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': target.etag }, body: frag(batch, end) });
      stats.lastStatus = res.status;
      if (res.status !== 204) stats.errors.push(`${res.status}: ${(await res.text()).trim()}`);
      stats.patches++;
      stats.candidates += batch.length;
    }).catch((err) => stats.errors.push(String(err)));
  };
  pc.addEventListener('icecandidate', (e) => {
    if (e.candidate && e.candidate.candidate) queue.push(e.candidate);
    else ended = true;
    flush();
  });
  return { stats, start(url, etag) { target = { url, etag }; flush(); } };
}

/**
 * Sends `pc`'s offer to a WHIP or WHEP endpoint; resolves with the session URL (for DELETE).
 * `opts.trickle`: POST before gathering ends and PATCH the candidates; `opts.relayOnly`: only
 * TURN relay candidates (iceTransportPolicy "relay"). The trickle's figures go to pc.tributaryTrickle.
 * Throws an Error with the server's reason on a refusal (4xx names the codec, the auth problem).
 */
async function webrtcSignal(endpoint, pc, token, opts = {}) {
  const servers = await iceServersOf(endpoint, token);
  if (servers.length || opts.relayOnly) {
    const cfg = pc.getConfiguration();
    pc.setConfiguration({ ...cfg, iceServers: [...(cfg.iceServers ?? []), ...servers], ...(opts.relayOnly ? { iceTransportPolicy: 'relay' } : {}) });
  }
  const trickle = opts.trickle ? trickler(pc, token) : undefined;
  if (trickle) pc.tributaryTrickle = trickle.stats;
  await pc.setLocalDescription(await pc.createOffer());
  if (!trickle) await gathered(pc);
  const headers = { 'Content-Type': 'application/sdp', ...authHeaders(token) };
  const res = await fetch(endpoint, { method: 'POST', headers, body: pc.localDescription.sdp });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${res.status}: ${text.trim()}`);
  const session = new URL(res.headers.get('Location'), endpoint).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  trickle?.start(session, res.headers.get('ETag'));
  return session;
}

/** Ends a session: DELETE of its URL (best effort: the server reaps it anyway). */
function webrtcHangUp(sessionUrl, pc) {
  pc?.close();
  if (sessionUrl) fetch(sessionUrl, { method: 'DELETE' }).catch(() => undefined);
}

window.tributaryWebrtc = { webrtcSignal, webrtcHangUp, iceServersFromLinks };
})();
