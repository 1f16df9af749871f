import { randomBytes } from 'node:crypto';
import { parseSdpFrag, TRICKLE_CONTENT_TYPE, type FragCandidate } from '../../webrtc/trickle.js';

/** PATCH requests one session takes over its life (a browser sends one per candidate or a few batches). */
export const MAX_PATCHES = 64;
/** Remote candidates one session takes by trickle, over its life (the offer's are bounded apart). */
export const MAX_TRICKLED = 32;

export type PatchCheck =
  | { ok: true; candidates: FragCandidate[]; endOfCandidates: boolean; dropped: number }
  | { ok: false; status: 400 | 412 | 415 | 422 | 428 | 429; reason: string; message: string };

/**
 * One WHIP/WHEP session's side of trickle ICE (RFC 9725 section 4.3.1): its entity tag (the
 * ICE session's; sent in the 201's ETag, asked back in each PATCH's If-Match), the ICE
 * credentials of the offer (a fragment with others is an ICE restart, which this server does
 * not do: 422), and the budget of requests and candidates. `check` decides every refusal
 * before anything reaches the WebRTC stack.
 */
export class TrickleGate {
  readonly etag = `"${randomBytes(12).toString('base64url')}"`;
  patches = 0;
  candidates = 0;

  constructor(
    private readonly ufrag: string | undefined,
    private readonly mids: string[],
  ) {}

  /** The remote ICE ufrag of an offer (session or first media level). */
  static ufragOf(sdp: string): string | undefined {
    return /^a=ice-ufrag:(\S+)$/m.exec(sdp)?.[1];
  }

  /** The headers, before the body is read: a refusal, or undefined to go on. */
  checkHeaders(contentType: string | undefined, ifMatch: string | undefined): PatchCheck | undefined {
    const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== TRICKLE_CONTENT_TYPE) return { ok: false, status: 415, reason: 'content-type', message: `Content-Type must be ${TRICKLE_CONTENT_TYPE}, not "${type.slice(0, 64)}"` };
    if (ifMatch === undefined) return { ok: false, status: 428, reason: 'no-if-match', message: `If-Match is required: the ETag of the session (${this.etag})` };
    const tags = ifMatch.split(',').map((t) => t.trim());
    if (!tags.includes('*') && !tags.includes(this.etag)) return { ok: false, status: 412, reason: 'etag', message: `If-Match names another ICE session: this one is ${this.etag}` };
    if (this.patches >= MAX_PATCHES) return { ok: false, status: 429, reason: 'patches', message: `more than ${MAX_PATCHES} trickle requests for one session` };
    this.patches++;
    return undefined;
  }

  /** The body: the candidates to give the stack, or a refusal. Counts what it accepts. */
  checkBody(text: string): PatchCheck {
    const p = parseSdpFrag(text);
    if (!p.ok) return { ok: false, status: 400, reason: 'malformed', message: p.message };
    const f = p.frag;
    if ((f.ufrag !== undefined && f.ufrag !== this.ufrag) || (f.ufrag === undefined && f.pwd !== undefined)) {
      return { ok: false, status: 422, reason: 'ice-restart', message: 'ICE restarts are not supported (the fragment names other ICE credentials): start a new session' };
    }
    const unknown = f.candidates.find((c) => c.mid !== undefined && !this.mids.includes(c.mid));
    if (unknown) return { ok: false, status: 400, reason: 'mid', message: `no media section with mid "${unknown.mid}" in this session` };
    if (this.candidates + f.candidates.length > MAX_TRICKLED) {
      return { ok: false, status: 429, reason: 'candidates', message: `more than ${MAX_TRICKLED} trickled candidates for one session (${this.candidates} taken)` };
    }
    this.candidates += f.candidates.length;
    return { ok: true, candidates: f.candidates, endOfCandidates: f.endOfCandidates, dropped: Object.values(f.dropped).reduce((a, b) => a + b, 0) };
  }
}
