import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';

/**
 * The WebRTC stack (werift) configured the one way both WHIP and WHEP use it: H.264
 * packetization-mode 1 and Opus, NACK and PLI as the only feedback, BUNDLE, host candidates on
 * one address and ports from a fixed range. The offer it answers was narrowed by checkOffer first.
 */
export interface PeerOptions {
  /** Where ICE binds (one UDP socket per session). */
  host: string;
  /** What the answer's candidate says, when browsers reach the server at another address. */
  announcedAddress?: string | undefined;
  portRange: [number, number];
  /**
   * STUN/TURN servers the server's own ICE agent gathers through (server-reflexive and relay
   * candidates, for a server behind NAT). None by default: werift would otherwise use its own
   * default, a public STUN server, unasked.
   */
  iceServers?: Array<{ urls: string | string[]; username?: string | undefined; credential?: string | undefined }> | undefined;
}

const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }];

export function createPeer(o: PeerOptions): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: {
      video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: FEEDBACK, parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
    },
    bundlePolicy: 'max-bundle',
    iceUseIpv6: false,
    // On a wildcard host werift lists every interface; on a given one it binds there, and its
    // address is added back to the candidates (werift leaves loopback out of them).
    iceInterfaceAddresses: wildcard(o.host) ? undefined : { udp4: o.host },
    iceAdditionalHostAddresses: o.announcedAddress ? [o.announcedAddress] : wildcard(o.host) ? undefined : [o.host],
    icePortRange: o.portRange,
    iceServers: (o.iceServers ?? []).map((x) => ({ urls: x.urls, ...(x.username !== undefined ? { username: x.username, credential: x.credential } : {}) })),
  });
}

/**
 * Applies the (checked) offer and returns the complete answer, candidates included: WHIP and
 * WHEP answer in the POST's response, so gathering finishes first (host candidates only: fast).
 */
export async function answerOffer(pc: RTCPeerConnection, sdp: string, prepare?: (pc: RTCPeerConnection) => void, timeoutMs = 5000): Promise<string> {
  await pc.setRemoteDescription({ type: 'offer', sdp });
  // Between offer and answer: where WHEP turns the browser's recvonly sections into our sendonly.
  prepare?.(pc);
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('ICE gathering did not complete')), timeoutMs);
      const { unSubscribe } = pc.iceGatheringStateChange.subscribe((s) => {
        if (s !== 'complete') return;
        clearTimeout(t);
        unSubscribe();
        resolve();
      });
    });
  }
  const answer = pc.localDescription?.sdp;
  if (!answer) throw new Error('no local description');
  return answer;
}

export function wildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** The one address the answer's candidates should name, if there is one (see onlyAnnounced). */
export function announcedAddress(o: PeerOptions): string | undefined {
  return o.announcedAddress ?? (wildcard(o.host) ? undefined : o.host);
}

/**
 * Keeps only the host candidates on the announced address: werift also lists the machine's
 * other interfaces, on sockets bound to `host`, which a browser would try in vain. Server-
 * reflexive and relay candidates (from iceServers) name other addresses by nature: kept.
 */
export function onlyAnnounced(sdp: string, address: string | undefined): string {
  if (address === undefined) return sdp;
  return sdp
    .split('\r\n')
    .filter((l) => {
      if (!l.startsWith('a=candidate:')) return true;
      const f = l.split(' ');
      return f[4] === address || f[7] !== 'host';
    })
    .join('\r\n');
}
