// WHIP / WHEP signalling for the publish and player pages: one POST of a complete offer
// (candidates gathered first, so no trickle), the answer back, DELETE of the session URL to end.
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

/**
 * Sends `pc`'s offer to a WHIP or WHEP endpoint; resolves with the session URL (for DELETE).
 * Throws an Error with the server's reason on a refusal (4xx names the codec, the auth problem).
 */
async function webrtcSignal(endpoint, pc, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(endpoint, { method: 'POST', headers, body: pc.localDescription.sdp });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${res.status}: ${text.trim()}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  return new URL(res.headers.get('Location'), endpoint).href;
}

/** Ends a session: DELETE of its URL (best effort: the server reaps it anyway). */
function webrtcHangUp(sessionUrl, pc) {
  pc?.close();
  if (sessionUrl) fetch(sessionUrl, { method: 'DELETE' }).catch(() => undefined);
}

window.tributaryWebrtc = { webrtcSignal, webrtcHangUp };
})();
