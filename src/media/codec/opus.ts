import { MediaParseError, type CodecConfig } from '../frame.js';

/** Parses an OpusHead identification header (RFC 7845, 5.1), the Opus codec config. */
export function opusConfigFromHead(head: Uint8Array): CodecConfig {
  if (head.length < 19) throw new MediaParseError('OpusHead too short');
  const magic = String.fromCharCode(...head.subarray(0, 8));
  if (magic !== 'OpusHead') throw new MediaParseError('OpusHead magic missing');
  if ((head[8]! & 0xf0) !== 0) throw new MediaParseError(`OpusHead version ${head[8]}`);
  const channels = head[9]!;
  if (channels === 0) throw new MediaParseError('OpusHead with 0 channels');
  // Opus always decodes at 48 kHz; the header's input rate is informative only.
  return { kind: 'audio', codec: 'opus', data: head, sampleRate: 48000, channels, codecString: 'opus' };
}

/** A minimal OpusHead (mapping family 0, so at most 2 channels). */
export function buildOpusHead(channels: number, preSkip = 312, inputRate = 48000): Uint8Array {
  if (channels < 1 || channels > 2) throw new MediaParseError('OpusHead family 0 carries 1 or 2 channels');
  const out = new Uint8Array(19);
  out.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 1, channels]);
  const v = new DataView(out.buffer);
  v.setUint16(10, preSkip, true);
  v.setUint32(12, inputRate, true);
  return out;
}
