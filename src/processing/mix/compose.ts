import type { Slot } from './layout.js';

/**
 * Raw YUV 4:2:0 (I420) pictures and the one drawing operation the compositor needs: an input
 * picture scaled (nearest neighbour) and centre-cropped to a slot's aspect, drawn into the
 * output. Nearest neighbour keeps the per-frame cost a few row copies and one index lookup
 * per pixel; the encoder's own filtering hides its roughness at the sizes insets have.
 */
export interface Picture {
  width: number;
  height: number;
  /** I420: Y plane, then U, then V (each chroma plane a quarter of Y). */
  data: Uint8Array;
}

export function pictureBytes(width: number, height: number): number {
  return width * height * 1.5;
}

/** A picture of one colour (Y, U, V). */
export function solidPicture(width: number, height: number, y: number, u: number, v: number): Picture {
  const data = new Uint8Array(pictureBytes(width, height));
  const ys = width * height;
  data.fill(y, 0, ys);
  data.fill(u, ys, ys + ys / 4);
  data.fill(v, ys + ys / 4);
  return { width, height, data };
}

/** Precomputed source columns/rows for one (source size, slot) pair. */
interface Plan {
  key: string;
  cols: Int32Array;
  rows: Int32Array;
  ccols: Int32Array;
  crows: Int32Array;
}

const plans = new Map<string, Plan>();

function plan(sw: number, sh: number, slot: Slot): Plan {
  const key = `${sw}x${sh}:${slot.w}x${slot.h}`;
  let p = plans.get(key);
  if (p) return p;
  // Crop the source to the slot's aspect, centred.
  let cw = sw;
  let chh = sh;
  if (sw * slot.h > slot.w * sh) cw = Math.round((sh * slot.w) / slot.h);
  else chh = Math.round((sw * slot.h) / slot.w);
  const cx = Math.floor((sw - cw) / 2);
  const cy = Math.floor((sh - chh) / 2);
  const cols = new Int32Array(slot.w);
  const rows = new Int32Array(slot.h);
  for (let x = 0; x < slot.w; x++) cols[x] = cx + Math.floor((x * cw) / slot.w);
  for (let y = 0; y < slot.h; y++) rows[y] = cy + Math.floor((y * chh) / slot.h);
  const ccols = new Int32Array(slot.w / 2);
  const crows = new Int32Array(slot.h / 2);
  for (let x = 0; x < slot.w / 2; x++) ccols[x] = Math.min(sw / 2 - 1, cols[x * 2]! >> 1);
  for (let y = 0; y < slot.h / 2; y++) crows[y] = Math.min(sh / 2 - 1, rows[y * 2]! >> 1);
  p = { key, cols, rows, ccols, crows };
  if (plans.size > 256) plans.clear();
  plans.set(key, p);
  return p;
}

/** Draws `src` into `dst` at `slot`. Same size and no crop: plain row copies. */
export function drawInto(dst: Picture, src: Picture, slot: Slot): void {
  const dw = dst.width;
  const dys = dw * dst.height;
  const sw = src.width;
  const sys = sw * src.height;
  const d = dst.data;
  const s = src.data;
  if (src.width === slot.w && src.height === slot.h) {
    for (let y = 0; y < slot.h; y++) d.set(s.subarray(y * sw, y * sw + sw), (slot.y + y) * dw + slot.x);
    for (let plane = 0; plane < 2; plane++) {
      const so = sys + (plane * sys) / 4;
      const dof = dys + (plane * dys) / 4;
      for (let y = 0; y < slot.h / 2; y++) d.set(s.subarray(so + (y * sw) / 2, so + (y * sw) / 2 + sw / 2), dof + ((slot.y / 2 + y) * dw) / 2 + slot.x / 2);
    }
    return;
  }
  const p = plan(src.width, src.height, slot);
  for (let y = 0; y < slot.h; y++) {
    const srow = p.rows[y]! * sw;
    const drow = (slot.y + y) * dw + slot.x;
    for (let x = 0; x < slot.w; x++) d[drow + x] = s[srow + p.cols[x]!]!;
  }
  const scw = sw / 2;
  const dcw = dw / 2;
  for (let plane = 0; plane < 2; plane++) {
    const so = sys + (plane * sys) / 4;
    const dof = dys + (plane * dys) / 4;
    for (let y = 0; y < slot.h / 2; y++) {
      const srow = so + p.crows[y]! * scw;
      const drow = dof + (slot.y / 2 + y) * dcw + slot.x / 2;
      for (let x = 0; x < slot.w / 2; x++) d[drow + x] = s[srow + p.ccols[x]!]!;
    }
  }
}

/** Mixes one tick of interleaved s16 stereo from each input (missing ones are silence), gains applied, clipped. */
export function mixAudio(out: Int16Array, inputs: ReadonlyArray<{ samples: Int16Array | undefined; gain: number }>): void {
  out.fill(0);
  const acc = new Float32Array(out.length);
  for (const { samples, gain } of inputs) {
    if (!samples || gain === 0) continue;
    const n = Math.min(samples.length, out.length);
    for (let i = 0; i < n; i++) acc[i]! += samples[i]! * gain;
  }
  for (let i = 0; i < out.length; i++) {
    const v = acc[i]!;
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
  }
}
