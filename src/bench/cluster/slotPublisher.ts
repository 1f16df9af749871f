/**
 * The main-backup scenario's publisher, run as a process of its own (so the bench can kill -9
 * it): a synthetic H.264 + AAC stream over the transport to one node. Both publishers of the
 * scenario number their frames by the same wall-clock slots (30 video frames a second since a
 * shared epoch), as two encoders fed from one camera would make the same pictures: a viewer's
 * missing slot is a frame lost, whichever publisher it came from. Each has its own timestamps
 * (its own clock) and its own keyframe phase, as two real encoders do.
 *
 *   node slotPublisher.js tributary://HOST:PORT/APP/KEY EPOCH_MS KEY_PHASE
 */
import { pathToFileURL } from 'node:url';
import { connectMedia } from '../../client/connectMedia.js';
import { encodeConfig, encodeFrame } from '../../media/tributary/index.js';
import { AUDIO_CONFIG, VIDEO_CONFIG, toMediaFrame } from '../fanout/stream.js';

export const SLOT_MS = 1000 / 30;
/** Audio frame ids sit above every video slot id. */
export const AUDIO_ID_BASE = 1 << 30;
const AUDIO_MS = 20;
const GOP_SLOTS = 30;
const VIDEO_BYTES = 3000;

export function slotAt(epochMs: number, wallMs: number): number {
  return Math.floor((wallMs - epochMs) / SLOT_MS);
}

async function main(url: string, epoch: number, phase: number): Promise<void> {
  const conn = await connectMedia(url, 'publish', { connectTimeoutMs: 3000, welcomeTimeoutMs: 3000 });
  conn.onMessage(() => undefined);
  conn.session.sendFrame({ kind: 'control', data: encodeConfig(VIDEO_CONFIG) });
  conn.session.sendFrame({ kind: 'control', data: encodeConfig(AUDIO_CONFIG) });
  process.stdout.write(`publishing ${conn.welcome}\n`);
  conn.session.on('closed', (r) => {
    process.stderr.write(`session closed: ${r}\n`);
    process.exit(2);
  });
  // Its own clock: timestamps start at a random point, as an encoder's do.
  const base = Math.floor(Math.random() * 100_000);
  let slot = slotAt(epoch, Date.now());
  const first = slot;
  let audio = Math.floor((Date.now() - epoch) / AUDIO_MS);
  const send = (kind: 'video' | 'audio', id: number, capture: number, keyframe: boolean, size: number): void => {
    const f = toMediaFrame({ id, kind, capture, size, keyframe, reference: true, refId: -1 });
    f.captureTime = Date.now();
    conn.session.sendFrame({ kind, data: encodeFrame(f), deadlineMs: 1000, keyframe, reference: true, timestamp: f.dts });
  };
  setInterval(() => {
    const now = Date.now();
    const due = slotAt(epoch, now);
    // A stalled process sends what it owes (up to 3 frames), never a burst of stale ones.
    if (due - slot > 3) slot = due - 3;
    for (; slot < due; slot++) {
      // The first three frames are keyframes: the configs ride another stream and may come after the first.
      const key = slot - first < 3 || (slot + phase) % GOP_SLOTS === 0;
      send('video', slot, base + (slot - first) * SLOT_MS, key, key ? VIDEO_BYTES * 4 : VIDEO_BYTES);
    }
    const dueAudio = Math.floor((now - epoch) / AUDIO_MS);
    if (dueAudio - audio > 5) audio = dueAudio - 5;
    for (; audio < dueAudio; audio++) send('audio', AUDIO_ID_BASE + (audio % AUDIO_ID_BASE), base + audio * AUDIO_MS - first * SLOT_MS, false, 200);
  }, 10);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, epoch, phase] = process.argv.slice(2);
  main(url!, Number(epoch), Number(phase ?? 0)).catch((err: Error) => {
    process.stderr.write(`slotPublisher: ${err.message}\n`);
    process.exit(1);
  });
}
