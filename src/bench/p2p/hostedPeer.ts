/**
 * One Node peer of `bench p2p --real --node-peers` behind a link emulator of its own: its ICE
 * is relay only, through the TURN server at its UdpLinkProxy's port, so every datagram it sends
 * to or gets from another peer crosses that proxy: `up` is its upload (a rate bottleneck of the
 * peer's capacity with a 2 s drop-tail queue, as the simulation's upload FIFO, and half its
 * access delay), `down` its download (the other half). The edge's WebSocket goes direct (TCP on
 * loopback, as the simulation's reliable control channel).
 */
import { P2pPeer } from '../../client/p2p/P2pPeer.js';
import { RateBottleneck } from '../../emulator/Bottleneck.js';
import { UdpLinkProxy } from '../../emulator/UdpLinkProxy.js';

export interface HostedPeer {
  index: number;
  uploadKbps: number;
  /** One-way delay each direction of the peer's access link, ms. */
  oneWayMs: number;
  loss: number;
  /** Join time, ms after the bench's epoch (Date.now()). */
  joinAt: number;
}

export interface TurnAt {
  port: number;
  user: string;
  pass: string;
}

/** Upload the emulator gives a peer that claims almost none: its control messages still leave (as Network.transmit's floor). */
export const MIN_UPLOAD_KBPS = 16;
const QUEUE_MS = 2000;

/** The peer's emulated access link, listening; `join` starts the peer through it. */
export async function emulatedAccess(h: HostedPeer, turn: TurnAt): Promise<{ proxy: UdpLinkProxy; join: (url: string, onPlayed?: (delayMs: number) => void) => P2pPeer }> {
  const kbps = Math.max(MIN_UPLOAD_KBPS, h.uploadKbps);
  const proxy = new UdpLinkProxy({
    target: { host: '127.0.0.1', port: turn.port },
    up: { delayMs: h.oneWayMs, loss: h.loss, bottleneck: new RateBottleneck(kbps * 1000), queueBytes: Math.max(3000, (kbps * QUEUE_MS) / 8) },
    down: { delayMs: h.oneWayMs, loss: h.loss },
    seed: h.index + 1,
  });
  const port = await proxy.listen();
  const join = (url: string, onPlayed?: (delayMs: number) => void) =>
    new P2pPeer({
      url,
      write: () => undefined,
      uploadKbps: h.uploadKbps,
      rtc: { iceServers: [{ urls: `turn:127.0.0.1:${port}?transport=udp`, username: turn.user, credential: turn.pass }], iceTransportPolicy: 'relay' },
      ...(onPlayed ? { onPlayed: (d: number) => onPlayed(d) } : {}),
    });
  return { proxy, join };
}
