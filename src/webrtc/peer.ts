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
 * Keeps only the candidates on the announced address: werift also lists the machine's other
 * interfaces, on sockets bound to `host`, which a browser would try in vain.
 */
export function onlyAnnounced(sdp: string, address: string | undefined): string {
  if (address === undefined) return sdp;
  return sdp
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:') || l.split(' ')[4] === address)
    .join('\r\n');
}
