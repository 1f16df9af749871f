/**
 * Trickle ICE for WHIP/WHEP (RFC 9725 section 4.3.1): the body of a PATCH on a session URL,
 * an `application/trickle-ice-sdpfrag` (RFC 8840), parsed and bounded. Pure: text in, the
 * candidates to add (or a refusal with its status) out.
 *
 * Why bound it: every remote candidate the stack takes becomes a pair it checks with STUN on
 * a timer, at an address of the sender's choosing; so a session takes a fixed number of
 * candidates over its life, and candidates it could never use (TCP, mDNS names, RTCP
 * components under rtcp-mux) are dropped and counted instead of reaching the stack.
 */
import { isIP } from 'node:net';

export const TRICKLE_CONTENT_TYPE = 'application/trickle-ice-sdpfrag';
/** A browser's fragment is one or a few candidates (~100 bytes each). */
export const MAX_FRAG_BYTES = 16 << 10;
const MAX_FRAG_LINES = 200;

export interface FragCandidate {
  /** The m-section's mid it was sent under (undefined: before any m= line). */
  mid: string | undefined;
  /** The attribute's value, without `a=`: `candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host`. */
  candidate: string;
}

export interface Frag {
  ufrag: string | undefined;
  pwd: string | undefined;
  candidates: FragCandidate[];
  endOfCandidates: boolean;
  /** Candidates refused one by one (not UDP, not an IP address, RTCP component), by reason. */
  dropped: Record<string, number>;
}

export type FragParse = { ok: true; frag: Frag } | { ok: false; message: string };

const CANDIDATE = /^candidate:([A-Za-z0-9+/]{1,32}) (\d{1,3}) ([A-Za-z]{1,8}) (\d{1,10}) (\S{1,255}) (\d{1,5}) typ (host|srflx|prflx|relay)(?: .{0,400})?$/;
const ICE_CHARS = /^[A-Za-z0-9+/]{4,256}$/;

/** Parses a trickle-ice-sdpfrag; refuses (400) anything that is not one. */
export function parseSdpFrag(text: string): FragParse {
  const bad = (message: string): FragParse => ({ ok: false, message: `malformed trickle-ice-sdpfrag: ${message}` });
  if (Buffer.byteLength(text) > MAX_FRAG_BYTES) return bad(`larger than ${MAX_FRAG_BYTES} bytes`);
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return bad('empty body');
  if (lines.length > MAX_FRAG_LINES) return bad(`more than ${MAX_FRAG_LINES} lines`);
  const frag: Frag = { ufrag: undefined, pwd: undefined, candidates: [], endOfCandidates: false, dropped: {} };
  const drop = (why: string) => void (frag.dropped[why] = (frag.dropped[why] ?? 0) + 1);
  let mid: string | undefined;
  for (const l of lines) {
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(l)) return bad('control characters in a line');
    if (!/^[a-z]=/.test(l)) return bad(`line "${l.slice(0, 40)}" is not <type>=<value>`);
    if (l.startsWith('m=')) {
      if (!/^m=\w{1,16} \d{1,5}(?:\/\d+)? \S{1,64}(?: \S{1,16}){0,64}$/.test(l)) return bad(`unparsable media line "${l.slice(0, 60)}"`);
      mid = undefined;
      continue;
    }
    if (!l.startsWith('a=')) return bad(`"${l.slice(0, 2)}" lines do not belong in a fragment`);
    const attr = l.slice(2);
    if (attr.startsWith('mid:')) {
      mid = attr.slice(4);
      if (!/^[A-Za-z0-9_.\-]{1,32}$/.test(mid)) return bad(`bad mid "${mid.slice(0, 40)}"`);
    } else if (attr.startsWith('ice-ufrag:') || attr.startsWith('ice-pwd:')) {
      const [name, value] = [attr.slice(0, attr.indexOf(':')), attr.slice(attr.indexOf(':') + 1)];
      if (!ICE_CHARS.test(value)) return bad(`bad ${name}`);
      const had = name === 'ice-ufrag' ? frag.ufrag : frag.pwd;
      if (had !== undefined && had !== value) return bad(`two different ${name} values`);
      if (name === 'ice-ufrag') frag.ufrag = value;
      else frag.pwd = value;
    } else if (attr === 'end-of-candidates') {
      frag.endOfCandidates = true;
    } else if (attr.startsWith('candidate:')) {
      const m = CANDIDATE.exec(attr);
      if (!m) return bad(`unparsable candidate "${attr.slice(0, 80)}"`);
      const [, , component, transport, priority, address, port] = m;
      if (Number(priority) > 0xffffffff || Number(port) < 1 || Number(port) > 65535) return bad(`candidate out of range "${attr.slice(0, 80)}"`);
      if (component !== '1') drop('component'); // rtcp-mux: only component 1 is used
      else if (transport!.toLowerCase() !== 'udp') drop('transport');
      else if (isIP(address!) === 0) drop('hostname'); // mDNS (.local) names are not resolved here
      else frag.candidates.push({ mid, candidate: attr });
    }
    // Other attributes (ice-options, group) say nothing a trickle needs.
  }
  return { ok: true, frag };
}

/** The sdpfrag a client sends for `candidates` (what web/webrtc.js builds, for tests). */
export function formatSdpFrag(o: { ufrag: string; pwd: string; mid: string; candidates: string[]; end?: boolean }): string {
  const lines = [`a=ice-ufrag:${o.ufrag}`, `a=ice-pwd:${o.pwd}`, 'm=audio 9 UDP/TLS/RTP/SAVPF 0', `a=mid:${o.mid}`, ...o.candidates.map((c) => `a=${c}`)];
  if (o.end) lines.push('a=end-of-candidates');
  return lines.join('\r\n') + '\r\n';
}
