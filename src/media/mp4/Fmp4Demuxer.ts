import { MediaParseError, type CodecConfig, type DemuxOutput, type MediaFrame } from '../frame.js';
import { BoxReader, boxesOf, findBox, parseBoxes, type BoxLimits, type Mp4Box } from './BoxParser.js';
import { readAudioSpecificConfig } from './track.js';

/** A track as the init segment declares it. */
export interface DemuxedTrack {
  id: number;
  kind: 'video' | 'audio';
  timescale: number;
  config: CodecConfig;
  /** trex defaults. */
  defaultDuration: number;
  defaultSize: number;
  defaultFlags: number;
}

/** Refuse more samples than this per buffer, whatever the truns claim. */
const MAX_SAMPLES = 1_000_000;

/**
 * Demuxes a fragmented MP4 held in one buffer (init segment then moof/mdat pairs, as ffmpeg's
 * `-movflags frag_keyframe+empty_moov` or this package's muxer write) into configs and frames.
 * Only what fragmented files use is read: sample tables in moov are ignored. Hostile input ends
 * in MediaParseError; every offset is checked against the buffer before use.
 */
export function demuxFmp4(buf: Uint8Array, limits?: BoxLimits): { tracks: DemuxedTrack[]; outputs: DemuxOutput[] } {
  const top = parseBoxes(buf, 0, buf.length, limits);
  const moov = findBox(top, 'moov');
  if (!moov) throw new MediaParseError('no moov box');
  const tracks = readTracks(buf, moov);
  const outputs: DemuxOutput[] = tracks.map((t) => ({ type: 'config', config: t.config }));
  const decodeTimes = new Map<number, number>();
  let samples = 0;
  for (const moof of boxesOf(top, 'moof')) {
    for (const traf of boxesOf(moof.children, 'traf')) {
      samples += readTraf(buf, moof, traf, tracks, decodeTimes, outputs, MAX_SAMPLES - samples);
    }
  }
  return { tracks, outputs };
}

function readTracks(buf: Uint8Array, moov: Mp4Box): DemuxedTrack[] {
  const tracks: DemuxedTrack[] = [];
  for (const trak of boxesOf(moov.children, 'trak')) {
    const tkhd = findBox(trak.children, 'tkhd');
    const mdhd = findBox(trak.children, 'mdia/mdhd');
    const hdlr = findBox(trak.children, 'mdia/hdlr');
    const stsd = findBox(trak.children, 'mdia/minf/stbl/stsd');
    if (!tkhd || !mdhd || !hdlr || !stsd) throw new MediaParseError('trak without tkhd/mdhd/hdlr/stsd');
    const th = BoxReader.of(buf, tkhd);
    const thVersion = th.u8();
    th.skip(3 + (thVersion === 1 ? 16 : 8));
    const id = th.u32();
    const mh = BoxReader.of(buf, mdhd);
    const mhVersion = mh.u8();
    mh.skip(3 + (mhVersion === 1 ? 16 : 8));
    const timescale = mh.u32();
    if (timescale === 0) throw new MediaParseError('timescale 0');
    const hr = BoxReader.of(buf, hdlr);
    hr.skip(8);
    const handler = String.fromCharCode(...hr.bytes(4));
    const entry = stsd.children?.[0];
    if (!entry) throw new MediaParseError('empty stsd');
    const config = readSampleEntry(buf, entry, handler);
    if (!config) continue;
    tracks.push({ id, kind: config.kind, timescale, config, defaultDuration: 0, defaultSize: 0, defaultFlags: 0 });
  }
  for (const trex of boxesOf(findBox(moov.children, 'mvex')?.children, 'trex')) {
    const r = BoxReader.of(buf, trex);
    r.skip(4);
    const trackId = r.u32();
    const t = tracks.find((x) => x.id === trackId);
    if (!t) continue;
    r.skip(4);
    t.defaultDuration = r.u32();
    t.defaultSize = r.u32();
    t.defaultFlags = r.u32();
  }
  return tracks;
}

function readSampleEntry(buf: Uint8Array, entry: Mp4Box, handler: string): CodecConfig | undefined {
  if (handler === 'vide' && (entry.type === 'avc1' || entry.type === 'avc3' || entry.type === 'hvc1' || entry.type === 'hev1')) {
    const r = new BoxReader(buf, entry.payload + 24, entry.end);
    const width = r.u16();
    const height = r.u16();
    const hevc = entry.type[0] === 'h';
    const rec = findBox(entry.children, hevc ? 'hvcC' : 'avcC');
    if (!rec) throw new MediaParseError(`${entry.type} without its config record`);
    const data = buf.slice(rec.payload, rec.end);
    return { kind: 'video', codec: hevc ? 'hevc' : 'h264', data, width, height };
  }
  if (handler === 'soun' && entry.type === 'mp4a') {
    const esds = findBox(entry.children, 'esds');
    if (!esds) throw new MediaParseError('mp4a without esds');
    const data = readEsdsConfig(buf, esds);
    const asc = readAudioSpecificConfig(data);
    return { kind: 'audio', codec: 'aac', data, sampleRate: asc?.sampleRate, channels: asc?.channels };
  }
  return undefined;
}

/** Walks the ES descriptor down to the DecoderSpecificInfo (tag 5): the AudioSpecificConfig. */
function readEsdsConfig(buf: Uint8Array, esds: Mp4Box): Uint8Array {
  const r = BoxReader.of(buf, esds);
  r.skip(4);
  const header = (): { tag: number; len: number } => {
    const tag = r.u8();
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const b = r.u8();
      len = (len << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    r.need(len);
    return { tag, len };
  };
  let d = header();
  if (d.tag !== 3) throw new MediaParseError('esds: no ES descriptor');
  const flags = (r.skip(2), r.u8());
  if (flags & 0x80) r.skip(2);
  if (flags & 0x40) r.skip(r.u8());
  if (flags & 0x20) r.skip(2);
  d = header();
  if (d.tag !== 4) throw new MediaParseError('esds: no decoder config');
  r.skip(13);
  d = header();
  if (d.tag !== 5) throw new MediaParseError('esds: no decoder specific info');
  return buf.slice(r.pos, r.pos + d.len);
}

function readTraf(buf: Uint8Array, moof: Mp4Box, traf: Mp4Box, tracks: DemuxedTrack[], decodeTimes: Map<number, number>,
  outputs: DemuxOutput[], budget: number): number {
  const tfhdBox = findBox(traf.children, 'tfhd');
  if (!tfhdBox) throw new MediaParseError('traf without tfhd');
  const h = BoxReader.of(buf, tfhdBox);
  const flags = h.u32() & 0xffffff;
  const trackId = h.u32();
  const track = tracks.find((t) => t.id === trackId);
  if (!track) return 0;
  let base = moof.start;
  if (flags & 0x1) base = h.u64();
  if (flags & 0x2) h.skip(4);
  const defDuration = flags & 0x8 ? h.u32() : track.defaultDuration;
  const defSize = flags & 0x10 ? h.u32() : track.defaultSize;
  const defFlags = flags & 0x20 ? h.u32() : track.defaultFlags;
  const tfdt = findBox(traf.children, 'tfdt');
  let decode = decodeTimes.get(track.id) ?? 0;
  if (tfdt) {
    const r = BoxReader.of(buf, tfdt);
    decode = r.u8() === 1 ? (r.skip(3), r.u64()) : (r.skip(3), r.u32());
  }
  let count = 0;
  let dataPos = base;
  for (const trunBox of boxesOf(traf.children, 'trun')) {
    const r = BoxReader.of(buf, trunBox);
    const version = r.u8();
    const tf = (r.u8() << 16) | r.u16();
    const n = r.u32();
    if (tf & 0x1) dataPos = base + r.i32();
    const firstFlags = tf & 0x4 ? r.u32() : undefined;
    const entryBytes = 4 * (((tf >> 8) & 1) + ((tf >> 9) & 1) + ((tf >> 10) & 1) + ((tf >> 11) & 1));
    if (n > budget - count || n * entryBytes > r.left) throw new MediaParseError(`trun claims ${n} samples`);
    for (let i = 0; i < n; i++) {
      const duration = tf & 0x100 ? r.u32() : defDuration;
      const size = tf & 0x200 ? r.u32() : defSize;
      const sflags = tf & 0x400 ? r.u32() : i === 0 && firstFlags !== undefined ? firstFlags : defFlags;
      const cto = tf & 0x800 ? (version === 0 ? r.u32() : r.i32()) : 0;
      if (dataPos < 0 || size > buf.length - dataPos) throw new MediaParseError('sample data outside the buffer');
      const ts = track.timescale;
      const frame: MediaFrame = {
        kind: track.kind, codec: track.config.codec, dts: (decode * 1000) / ts, pts: ((decode + cto) * 1000) / ts,
        keyframe: track.kind === 'audio' || (sflags & 0x00010000) === 0, reference: (sflags & 0x00c00000) !== 0x00800000,
        data: buf.subarray(dataPos, dataPos + size),
      };
      outputs.push({ type: 'frame', frame });
      dataPos += size;
      decode += duration;
      count++;
    }
  }
  decodeTimes.set(track.id, decode);
  return count;
}
