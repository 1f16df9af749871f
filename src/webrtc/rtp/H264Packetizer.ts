/**
 * One H.264 access unit (the frame model's NAL units) into RTP payloads (RFC 6184,
 * packetization-mode 1): a NAL unit that fits goes as a single-NAL packet, a larger one as
 * FU-A fragments. Keyframes carry SPS and PPS in front, so a viewer that joins or lost its
 * reference can start on any IDR without out-of-band parameter sets.
 */

/** Payload bytes per packet: 1200 leaves room for RTP, SRTP and IP headers under any path MTU seen. */
export const RTP_PAYLOAD_MAX = 1200;

export function packetizeH264(nals: readonly Uint8Array[], mtu = RTP_PAYLOAD_MAX): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const nal of nals) {
    if (nal.length === 0) continue;
    if (nal.length <= mtu) {
      out.push(nal);
      continue;
    }
    const indicator = (nal[0]! & 0xe0) | 28;
    const type = nal[0]! & 0x1f;
    const body = nal.subarray(1);
    const piece = mtu - 2;
    for (let pos = 0; pos < body.length; pos += piece) {
      const chunk = body.subarray(pos, Math.min(body.length, pos + piece));
      const p = new Uint8Array(2 + chunk.length);
      p[0] = indicator;
      p[1] = (pos === 0 ? 0x80 : 0) | (pos + piece >= body.length ? 0x40 : 0) | type;
      p.set(chunk, 2);
      out.push(p);
    }
  }
  return out;
}
