/**
 * Checks and narrows a WHIP/WHEP SDP offer before the WebRTC stack sees it. Pure: text in,
 * a narrowed offer or a refusal out.
 *
 * Why narrow: the stack answers with the first remote codec of a matching name, whatever its
 * fmtp says (packetization-mode 0 H.264, or RTX/RED/FEC we do not want), so the offer it sees
 * keeps, per m-section, exactly the payload type chosen here. Why bound candidates: each remote
 * candidate becomes a pair the stack checks with STUN on a timer; an offer with hundreds would
 * make the server send thousands of packets at addresses of the offerer's choosing.
 */

/** Offers are a few KiB; a browser's with simulcast and many candidates stays under 16 KiB. */
export const MAX_OFFER_BYTES = 64 << 10;
/** Remote candidates kept per m-section (the rest are dropped and counted). */
export const MAX_CANDIDATES_PER_MEDIA = 16;
const MAX_LINES = 2000;
const MAX_MEDIA_SECTIONS = 8;

export type OfferUse = 'whip' | 'whep';

export interface MediaChoice {
  kind: 'video' | 'audio';
  mid: string | undefined;
  payloadType: number;
}

export type OfferCheck =
  | { ok: true; sdp: string; media: MediaChoice[]; candidatesDropped: number }
  | { ok: false; status: 400 | 406; message: string };

interface Section {
  header: string[];
  kind: string;
  port: string;
  proto: string;
  pts: number[];
  lines: string[];
}

/** Codec name (lower case) and fmtp of each payload type of one m-section. */
function codecsOf(s: Section): Map<number, { name: string; clock: number; fmtp: Map<string, string> }> {
  const out = new Map<number, { name: string; clock: number; fmtp: Map<string, string> }>();
  for (const l of s.lines) {
    const m = /^a=rtpmap:(\d{1,3}) ([A-Za-z0-9_.\-]{1,32})\/(\d{1,6})/.exec(l);
    if (m) out.set(Number(m[1]), { name: m[2]!.toLowerCase(), clock: Number(m[3]), fmtp: new Map() });
  }
  for (const l of s.lines) {
    const m = /^a=fmtp:(\d{1,3}) (.{0,512})$/.exec(l);
    const c = m ? out.get(Number(m[1])) : undefined;
    if (!c) continue;
    for (const kv of m![2]!.split(';')) {
      const i = kv.indexOf('=');
      if (i > 0) c.fmtp.set(kv.slice(0, i).trim().toLowerCase(), kv.slice(i + 1).trim());
    }
  }
  return out;
}

/**
 * The H.264 payload type to use: packetization-mode 1 (FU-A, what browsers send), preferring
 * constrained baseline 42e01f (every decoder plays it), then any other profile.
 */
function pickH264(codecs: ReturnType<typeof codecsOf>, order: number[]): number | undefined {
  const h264 = order.filter((pt) => codecs.get(pt)?.name === 'h264' && codecs.get(pt)?.fmtp.get('packetization-mode') === '1');
  return h264.find((pt) => codecs.get(pt)!.fmtp.get('profile-level-id')?.toLowerCase() === '42e01f') ?? h264[0];
}

function pickOpus(codecs: ReturnType<typeof codecsOf>, order: number[]): number | undefined {
  return order.find((pt) => codecs.get(pt)?.name === 'opus' && codecs.get(pt)?.clock === 48000);
}

/** Names of the codecs an m-section offers, for a refusal that says what came. */
function offered(codecs: ReturnType<typeof codecsOf>, order: number[]): string {
  const names = new Set<string>();
  for (const pt of order) {
    const c = codecs.get(pt);
    if (!c || ['rtx', 'red', 'ulpfec', 'flexfec-03'].includes(c.name)) continue;
    names.add(c.name === 'h264' ? `H264 packetization-mode=${c.fmtp.get('packetization-mode') ?? '0'}` : c.name.toUpperCase());
  }
  return names.size ? [...names].join(', ') : 'none';
}

/** Lines of the section that describe payload types other than the kept one. */
function keepLine(line: string, keep: number): boolean {
  const m = /^a=(rtpmap|fmtp|rtcp-fb):(\d{1,3}|\*)[ ]/.exec(line);
  if (!m) return true;
  if (m[1] === 'rtcp-fb') {
    if (m[2] !== '*' && Number(m[2]) !== keep) return false;
    // NACK and PLI/FIR only: the stack sends neither transport-cc nor REMB feedback, and a
    // browser told to expect them would wait for feedback that never comes.
    return /^a=rtcp-fb:\S+ (nack|nack pli|ccm fir)$/.test(line);
  }
  return Number(m[2]) === keep;
}

/** Bytes of each hash an a=fingerprint may use (RFC 8122, section 5; MD2 and MD5 are not taken). */
const FINGERPRINT_BYTES: Record<string, number> = { 'sha-1': 20, 'sha-224': 28, 'sha-256': 32, 'sha-384': 48, 'sha-512': 64 };

function validFingerprint(v: string): boolean {
  const m = /^([A-Za-z0-9-]{1,16}) ((?:[0-9A-Fa-f]{2}:){0,63}[0-9A-Fa-f]{2})$/.exec(v.trim());
  const bytes = m ? FINGERPRINT_BYTES[m[1]!.toLowerCase()] : undefined;
  return bytes !== undefined && m![2]!.split(':').length === bytes;
}

/**
 * Checks an offer for WHIP (the browser sends H.264 and/or Opus) or WHEP (it receives them).
 * Refusals: 400 for SDP that is not an offer we can parse, 406 naming the codecs offered when
 * none is H.264 (packetization-mode 1) or Opus.
 */
export function checkOffer(sdp: string, use: OfferUse): OfferCheck {
  const bad = (message: string): OfferCheck => ({ ok: false, status: 400, message: `malformed SDP offer: ${message}` });
  if (sdp.length === 0) return bad('empty body');
  if (Buffer.byteLength(sdp) > MAX_OFFER_BYTES) return bad(`larger than ${MAX_OFFER_BYTES} bytes`);
  const lines = sdp.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > MAX_LINES) return bad(`more than ${MAX_LINES} lines`);
  if (lines[0] !== 'v=0') return bad('does not start with v=0');
  for (const l of lines) {
    if (!/^[a-z]=/.test(l)) return bad(`line "${l.slice(0, 40)}" is not <type>=<value>`);
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(l)) return bad('control characters in a line');
  }
  if (!lines.some((l) => l.startsWith('o='))) return bad('no o= line');
  const session: string[] = [];
  const sections: Section[] = [];
  for (const l of lines) {
    if (l.startsWith('m=')) {
      const m = /^m=(\w+) (\d{1,5})(?:\/\d+)? ([A-Z/]+(?:\/[A-Z]+)*) ([\d ]{1,400})$/.exec(l);
      if (!m) return bad(`unparsable media line "${l.slice(0, 60)}"`);
      if (sections.length >= MAX_MEDIA_SECTIONS) return bad(`more than ${MAX_MEDIA_SECTIONS} media sections`);
      sections.push({ header: [], kind: m[1]!, port: m[2]!, proto: m[3]!, pts: m[4]!.trim().split(/ +/).map(Number), lines: [] });
    } else if (sections.length === 0) session.push(l);
    else sections[sections.length - 1]!.lines.push(l);
  }
  if (sections.length === 0) return bad('no media section');
  const hasFingerprint = (ls: string[]) => ls.some((l) => l.startsWith('a=fingerprint:'));
  // A fingerprint that cannot match any certificate (RFC 8122: a hash and its bytes in hex)
  // makes a session that can never connect and holds its port until it is reaped: refused here.
  for (const l of lines) {
    if (l.startsWith('a=fingerprint:') && !validFingerprint(l.slice('a=fingerprint:'.length))) return bad(`"${l.slice(0, 60)}" is not a hash function and its bytes in hex (RFC 8122)`);
  }
  const hasIce = (ls: string[]) => ls.some((l) => l.startsWith('a=ice-ufrag:')) && ls.some((l) => l.startsWith('a=ice-pwd:'));

  const media: MediaChoice[] = [];
  let candidatesDropped = 0;
  const out: string[] = [...session];
  for (const s of sections) {
    const dir = s.lines.find((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l))?.slice(2) ?? 'sendrecv';
    const mid = s.lines.find((l) => l.startsWith('a=mid:'))?.slice(6);
    const usable = (s.kind === 'video' || s.kind === 'audio') && s.port !== '0' && dir !== 'inactive' && s.proto.includes('RTP');
    if (usable) {
      if (!hasFingerprint(s.lines) && !hasFingerprint(session)) return bad(`${s.kind} section has no a=fingerprint (DTLS-SRTP is required)`);
      if (!hasIce(s.lines) && !hasIce(session)) return bad(`${s.kind} section has no a=ice-ufrag / a=ice-pwd`);
      const wrongWay = use === 'whip' ? dir === 'recvonly' : dir === 'sendonly';
      if (wrongWay) return bad(`${s.kind} section is ${dir}, but ${use === 'whip' ? 'WHIP ingests what the client sends' : 'WHEP sends to the client'}`);
    }
    const codecs = codecsOf(s);
    const pt = !usable ? undefined : s.kind === 'video' ? pickH264(codecs, s.pts) : pickOpus(codecs, s.pts);
    if (usable && pt === undefined) {
      const want = s.kind === 'video' ? 'H264 with packetization-mode=1' : 'Opus (48 kHz)';
      return { ok: false, status: 406, message: `unsupported ${s.kind} codec: the offer has ${offered(codecs, s.pts)}; this server takes ${want}` };
    }
    if (pt === undefined) {
      // Kept as a rejected section (port 0) so the answer still lines up with the offer.
      out.push(`m=${s.kind} 0 ${s.proto} ${s.pts[0] ?? 0}`, ...s.lines.filter((l) => !l.startsWith('a=candidate:')));
      continue;
    }
    media.push({ kind: s.kind as 'video' | 'audio', mid, payloadType: pt });
    out.push(`m=${s.kind} ${s.port} ${s.proto} ${pt}`);
    // RTX is not negotiated: its SSRC (the second of an FID group) must not look like a stream.
    const rtxSsrcs = new Set(s.lines.flatMap((l) => /^a=ssrc-group:FID \d+ (\d+)/.exec(l)?.slice(1) ?? []));
    let candidates = 0;
    for (const l of s.lines) {
      const ssrc = /^a=ssrc:(\d+) /.exec(l)?.[1];
      if (ssrc !== undefined && rtxSsrcs.has(ssrc)) continue;
      if (l.startsWith('a=candidate:')) {
        if (++candidates > MAX_CANDIDATES_PER_MEDIA) {
          candidatesDropped++;
          continue;
        }
      }
      if (l.startsWith('a=ssrc-group:FID')) continue; // RTX is not negotiated
      if (keepLine(l, pt)) out.push(l);
    }
  }
  if (media.length === 0) return bad('no usable audio or video section');
  if (media.filter((m) => m.kind === 'video').length > 1 || media.filter((m) => m.kind === 'audio').length > 1) {
    return bad('more than one video or audio section (one of each is taken)');
  }
  return { ok: true, sdp: out.join('\r\n') + '\r\n', media, candidatesDropped };
}
