/** What the transcoders read from an Opus packet's TOC byte (RFC 6716, 3.1). Pure. */

/** Samples at 48 kHz of one frame, by TOC config (0-31). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config & 3]!; // SILK 10/20/40/60 ms
  if (config < 16) return [480, 960][config & 1]!; // Hybrid 10/20 ms
  return [120, 240, 480, 960][config & 3]!; // CELT 2.5/5/10/20 ms
}

/** Samples (48 kHz) a packet decodes to; 0 for an empty or malformed one. */
export function opusPacketSamples(p: Uint8Array): number {
  if (p.length < 1) return 0;
  const per = frameSamples(p[0]! >> 3);
  const code = p[0]! & 3;
  const frames = code === 0 ? 1 : code !== 3 ? 2 : p.length < 2 ? 0 : p[1]! & 0x3f;
  const total = per * frames;
  return total > 5760 ? 0 : total; // more than 120 ms is invalid
}

/**
 * A packet that makes the decoder conceal `samples` of loss (a code-0 TOC with an empty frame,
 * which RFC 6716 defines as a lost frame), so a gap keeps its length in the decoded timeline.
 * `like` is a packet of the stream (its mode and bandwidth are kept).
 */
export function opusLossPacket(like: Uint8Array): Uint8Array {
  return new Uint8Array([like[0]! & 0xfc]);
}
