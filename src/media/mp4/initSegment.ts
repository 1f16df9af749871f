import { ascii, box, fullBox, u16, u32, u8, zeros, type Part } from './boxes.js';
import type { Mp4Track } from './track.js';

/** Unity transformation matrix of mvhd / tkhd. */
const MATRIX = [...u32(0x10000), ...u32(0), ...u32(0), ...u32(0), ...u32(0x10000), ...u32(0), ...u32(0), ...u32(0), ...u32(0x40000000)];

/**
 * The init segment (ftyp + moov) of a fragmented MP4: track descriptions with empty sample
 * tables, and mvex/trex announcing that the samples come in movie fragments.
 */
export function buildInitSegment(tracks: readonly Mp4Track[]): Uint8Array {
  const ftyp = box('ftyp', ascii('iso6'), u32(0), ascii('iso6'), ascii('iso5'), ascii('mp41'), ascii('cmfc'), ascii('avc1'), ascii('dash'));
  const nextId = tracks.reduce((m, t) => Math.max(m, t.id), 0) + 1;
  const mvhd = fullBox('mvhd', 0, 0, u32(0), u32(0), u32(1000), u32(0), u32(0x10000), u16(0x100), zeros(10), MATRIX, zeros(24), u32(nextId));
  const mvex = box('mvex', ...tracks.map((t) => fullBox('trex', 0, 0, u32(t.id), u32(1), u32(0), u32(0), u32(0))));
  const moov = box('moov', mvhd, ...tracks.map(trak), mvex);
  const out = new Uint8Array(ftyp.length + moov.length);
  out.set(ftyp, 0);
  out.set(moov, ftyp.length);
  return out;
}

function trak(t: Mp4Track): Uint8Array {
  const video = t.kind === 'video';
  const tkhd = fullBox('tkhd', 0, 3, u32(0), u32(0), u32(t.id), u32(0), u32(0), zeros(8), u16(0), u16(video ? 0 : 1),
    u16(video ? 0 : 0x100), u16(0), MATRIX, u32(t.width * 0x10000), u32(t.height * 0x10000));
  // Language "und" packed as three 5-bit letters.
  const mdhd = fullBox('mdhd', 0, 0, u32(0), u32(0), u32(t.timescale), u32(0), u16(0x55c4), u16(0));
  const hdlr = fullBox('hdlr', 0, 0, u32(0), ascii(video ? 'vide' : 'soun'), zeros(12), ascii(video ? 'VideoHandler' : 'SoundHandler'), u8(0));
  const mediaHeader = video ? fullBox('vmhd', 0, 1, zeros(8)) : fullBox('smhd', 0, 0, zeros(4));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const stbl = box('stbl',
    fullBox('stsd', 0, 0, u32(1), sampleEntry(t)),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)));
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', mediaHeader, dinf, stbl)));
}

function sampleEntry(t: Mp4Track): Uint8Array {
  if (t.kind === 'video') {
    const configBox = t.codec === 'hevc' ? box('hvcC', t.config) : box('avcC', t.config);
    return box(t.codec === 'hevc' ? 'hvc1' : 'avc1',
      zeros(6), u16(1), zeros(16), u16(t.width), u16(t.height), u32(0x480000), u32(0x480000), u32(0), u16(1),
      zeros(32), u16(0x18), u16(0xffff), configBox);
  }
  return box('mp4a', zeros(6), u16(1), zeros(8), u16(t.channels), u16(16), u16(0), u16(0),
    u32((t.sampleRate & 0xffff) * 0x10000), esds(t));
}

/** MPEG-4 descriptors carry their length in 7-bit groups; four bytes is always enough here. */
function descriptor(tag: number, ...parts: Part[]): number[] {
  const body: number[] = [];
  for (const p of parts) body.push(...p);
  const n = body.length;
  return [tag, 0x80 | ((n >> 21) & 0x7f), 0x80 | ((n >> 14) & 0x7f), 0x80 | ((n >> 7) & 0x7f), n & 0x7f, ...body];
}

function esds(t: Mp4Track): Uint8Array {
  const decoderSpecific = descriptor(0x05, t.config);
  // objectTypeIndication 0x40 (MPEG-4 audio), streamType 5 (audio) << 2 | reserved bit.
  const decoderConfig = descriptor(0x04, u8(0x40), u8(0x15), [0, 0, 0], u32(0), u32(0), decoderSpecific);
  const es = descriptor(0x03, u16(t.id), u8(0), decoderConfig, descriptor(0x06, u8(0x02)));
  return fullBox('esds', 0, 0, es);
}
