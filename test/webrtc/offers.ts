import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';

/**
 * A real offer from a real WebRTC stack (werift as the client), sending or receiving the given
 * video codec and Opus: the tests mutate it into the bad inputs they need.
 */
export async function makeOffer(opts: { video: 'H264' | 'VP8'; direction: 'sendonly' | 'recvonly' }): Promise<{ sdp: string; pc: RTCPeerConnection }> {
  const video = opts.video === 'H264'
    ? new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }], parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })
    : new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000 });
  const pc = new RTCPeerConnection({
    codecs: { video: [video], audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })] },
    iceInterfaceAddresses: { udp4: '127.0.0.1' }, iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false, icePortRange: [23900, 23999],
  });
  pc.addTransceiver('video', { direction: opts.direction });
  pc.addTransceiver('audio', { direction: opts.direction });
  await pc.setLocalDescription(await pc.createOffer());
  for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; i++) await new Promise((r) => setTimeout(r, 20));
  return { sdp: pc.localDescription!.sdp, pc };
}

/** `n` made-up host candidates for every media section (an offer that wants many STUN checks). */
export function withCandidates(sdp: string, n: number): string {
  const extra: string[] = [];
  for (let i = 0; i < n; i++) extra.push(`a=candidate:${1000 + i} 1 udp 2122260223 10.${(i >> 8) & 255}.${i & 255}.1 ${40000 + i} typ host generation 0`);
  return sdp.replace(/(m=[^\r\n]*\r\n)/g, `$1${extra.join('\r\n')}\r\n`);
}
