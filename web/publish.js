// The publish page, /web/publish.html[?app=..&key=..&token=..&autostart=1]: captures the camera
// and microphone and publishes them with WHIP (H.264 + Opus, which the server takes).
// `&trickle=1` sends candidates by PATCH after the offer; `&relay=1` uses only TURN relays.
// `window.tributaryPublisher.stats` holds what the panel shows, for people and for tests.
'use strict';

const { webrtcSignal, webrtcHangUp } = window.tributaryWebrtc;
const query = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
for (const f of ['app', 'key', 'token']) if (query.get(f)) $(f).value = query.get(f);
const stats = { state: 'idle', framesSent: 0, bytesSent: 0, nackCount: 0, pliCount: 0, bitrateKbps: null, width: 0, height: 0, error: null, localCandidateType: null, remoteCandidateType: null, trickle: null };
window.tributaryPublisher = { stats };

let pc = null;
let session = null;
let media = null;

/** Puts H.264 first (the server refuses an offer without it, and VP8 would otherwise win). */
function preferH264(transceiver) {
  const caps = RTCRtpSender.getCapabilities('video');
  if (!caps || !transceiver.setCodecPreferences) return;
  const h264 = caps.codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine ?? ''));
  const rest = caps.codecs.filter((c) => !h264.includes(c));
  if (h264.length) transceiver.setCodecPreferences([...h264, ...rest]);
}

async function start() {
  stop();
  stats.state = 'capturing';
  stats.error = null;
  try {
    media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio: true });
    $('video').srcObject = media;
    pc = new RTCPeerConnection();
    for (const track of media.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly' });
      if (track.kind === 'video') preferH264(t);
    }
    pc.addEventListener('connectionstatechange', () => (stats.state = pc.connectionState));
    stats.state = 'signalling';
    const app = $('app').value;
    const key = $('key').value;
    session = await webrtcSignal(new URL(`/whip/${encodeURIComponent(app)}/${encodeURIComponent(key)}`, location.href).href, pc, $('token').value, { trickle: query.get('trickle') === '1', relayOnly: query.get('relay') === '1' });
    stats.trickle = pc.tributaryTrickle ?? null;
    $('s-watch').href = `/play/${encodeURIComponent(app)}/${encodeURIComponent(key)}?proto=whep`;
    $('s-watch').textContent = `/play/${app}/${key}`;
    $('stop').disabled = false;
  } catch (err) {
    stats.state = 'failed';
    stats.error = String(err.message ?? err);
    stop(true);
  }
}

function stop(keepState) {
  webrtcHangUp(session, pc);
  session = null;
  pc = null;
  media?.getTracks().forEach((t) => t.stop());
  media = null;
  $('stop').disabled = true;
  if (!keepState) stats.state = 'idle';
}

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  start();
});
$('stop').addEventListener('click', () => stop());
window.addEventListener('pagehide', () => stop());

let lastBytes = 0;
setInterval(async () => {
  if (pc) {
    const report = await pc.getStats();
    // The pair ICE chose: its local side is "relay" when the media goes through TURN.
    report.forEach((r) => {
      if (r.type !== 'transport' || !r.selectedCandidatePairId) return;
      const pair = report.get(r.selectedCandidatePairId);
      stats.localCandidateType = report.get(pair?.localCandidateId)?.candidateType ?? null;
      stats.remoteCandidateType = report.get(pair?.remoteCandidateId)?.candidateType ?? null;
    });
    report.forEach((r) => {
      if (r.type !== 'outbound-rtp' || r.kind !== 'video') return;
      stats.framesSent = r.framesEncoded ?? 0;
      stats.width = r.frameWidth ?? 0;
      stats.height = r.frameHeight ?? 0;
      stats.bitrateKbps = Math.round(((r.bytesSent - lastBytes) * 8) / 1000);
      lastBytes = r.bytesSent;
      stats.bytesSent = r.bytesSent;
      // What the server asked for: resends (NACK) and keyframes (PLI).
      stats.nackCount = r.nackCount ?? 0;
      stats.pliCount = r.pliCount ?? 0;
    });
  }
  $('s-state').textContent = stats.error ? `${stats.state}: ${stats.error}` : stats.state;
  $('s-sent').textContent = `${stats.framesSent} frames`;
  $('s-bitrate').textContent = stats.bitrateKbps === null ? '-' : `${stats.bitrateKbps} kb/s`;
  $('s-resolution').textContent = stats.width ? `${stats.width}x${stats.height}` : '-';
}, 1000);

if (query.get('autostart') === '1') start();
