/**
 * The two browser pages of `bench webrtc`, as scripts run in a page of the server's origin
 * (127.0.0.1 is a secure context, so WebRTC and fetch to the server need nothing more).
 *
 * The publisher draws its capture time (Date.now() mod 2^32) into every frame as a barcode of
 * 8 x 4 black or white blocks; the viewers read it back from what they display. Capture and
 * display clocks are the same machine's, so the delay needs nothing from the server.
 */

export const WIDTH = 640;
export const HEIGHT = 480;
export const COLS = 8;
export const ROWS = 4;

/** Reads the barcode from a grey (or RGBA, `stride` bytes a pixel) picture; pure, shared with Node. */
export function readBarcode(px: Uint8Array | Uint8ClampedArray, width: number, height: number, stride: number): number {
  const bw = width / COLS;
  const bh = height / ROWS;
  let v = 0;
  for (let bit = 0; bit < COLS * ROWS; bit++) {
    const cx = Math.floor((bit % COLS) * bw + bw / 2);
    const cy = Math.floor(Math.floor(bit / COLS) * bh + bh / 2);
    let sum = 0;
    let n = 0;
    for (let y = cy - 8; y <= cy + 8; y += 4) {
      for (let x = cx - 8; x <= cx + 8; x += 4) {
        sum += px[(y * width + x) * stride]!;
        n++;
      }
    }
    if (sum / n > 128) v |= 1 << bit;
  }
  return v >>> 0;
}

/** The delay, ms, between a barcode's time and `now` (both mod 2^32, so a wrap is harmless). */
export function barcodeDelay(code: number, now: number): number {
  return ((now >>> 0) - code + 2 ** 32) % 2 ** 32;
}

/** Publishes a canvas with the barcode (30 fps) and a tone with WHIP; resolves when the POST succeeded. */
export const PUBLISH_SCRIPT = (whipUrl: string) => `(async () => {
  const W = ${WIDTH}, H = ${HEIGHT}, COLS = ${COLS}, ROWS = ${ROWS};
  const canvas = document.createElement('canvas');
  canvas.width = W; canvas.height = H;
  document.body.append(canvas);
  const g = canvas.getContext('2d');
  const draw = () => {
    const t = Date.now() >>> 0;
    for (let bit = 0; bit < COLS * ROWS; bit++) {
      g.fillStyle = (t >>> bit) & 1 ? '#fff' : '#000';
      g.fillRect((bit % COLS) * W / COLS, Math.floor(bit / COLS) * H / ROWS, W / COLS, H / ROWS);
    }
  };
  draw();
  setInterval(draw, 1000 / 30);
  const video = canvas.captureStream(30).getVideoTracks()[0];
  // Keep the resolution under CPU load (frame rate drops instead): the blocks stay readable.
  video.contentHint = 'text';
  const ac = new AudioContext();
  const osc = ac.createOscillator();
  const dest = ac.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  const pc = new RTCPeerConnection();
  const vt = pc.addTransceiver(video, { direction: 'sendonly' });
  const caps = RTCRtpSender.getCapabilities('video').codecs;
  vt.setCodecPreferences([...caps.filter((c) => c.mimeType === 'video/H264'), ...caps.filter((c) => c.mimeType !== 'video/H264')]);
  pc.addTransceiver(dest.stream.getAudioTracks()[0], { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); });
  const res = await fetch(${JSON.stringify(whipUrl)}, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHIP ' + res.status + ': ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.benchPc = pc;
})()`;

/**
 * Plays with WHEP and records, per displayed frame, the barcode's delay in window.delays.
 * Without `audio` the page asks for video only (no lip sync can hold the video back).
 */
export const VIEW_SCRIPT = (whepUrl: string, audio = true) => `(async () => {
  const W = ${WIDTH}, H = ${HEIGHT}, COLS = ${COLS}, ROWS = ${ROWS};
  window.delays = [];
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.append(video);
  const canvas = document.createElement('canvas');
  canvas.width = W; canvas.height = H;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const read = ${readBarcode.toString()};
  const onFrame = () => {
    const now = Date.now();
    if (video.videoWidth > 0) {
      g.drawImage(video, 0, 0, W, H);
      const code = read(g.getImageData(0, 0, W, H).data, W, H, 4);
      window.delays.push(((now >>> 0) - code + 2 ** 32) % 2 ** 32);
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  if (${audio}) pc.addTransceiver('audio', { direction: 'recvonly' });
  const ms = new MediaStream();
  pc.ontrack = (e) => { ms.addTrack(e.track); video.srcObject = ms; video.play().catch(() => {}); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); });
  const res = await fetch(${JSON.stringify(whepUrl)}, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHEP ' + res.status + ': ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.benchPc = pc;
})()`;
