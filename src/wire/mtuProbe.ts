/**
 * MTU_PROBE and MTU_PROBE_ACK. A probe packet is padded (PADDING frames) to `size` bytes on
 * the wire; the peer answers with a PROBE_ACK naming the id and size it saw.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | type 0x07/08  |         probe id (16)         | size (16) ... |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ... size      |
 * +-+-+-+-+-+-+-+-+
 */
import { Reader, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export interface MtuProbeFrame {
  kind: 'mtu-probe' | 'mtu-probe-ack';
  probeId: number;
  size: number;
}

export function encodeMtuProbe(w: Writer, f: MtuProbeFrame): void {
  w.u8(f.kind === 'mtu-probe' ? FrameType.MTU_PROBE : FrameType.MTU_PROBE_ACK).u16(f.probeId).u16(f.size);
}

export function decodeMtuProbe(r: Reader, kind: MtuProbeFrame['kind']): MtuProbeFrame {
  return { kind, probeId: r.u16(), size: r.u16() };
}
