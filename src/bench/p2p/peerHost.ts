/**
 * A child process of `bench p2p --real --node-peers N`: some of the Node peers (P2pPeer, what
 * `tributary play --p2p` runs), each behind a link emulator of its own. A peer's ICE is relay
 * only, through the TURN server at its UdpLinkProxy's port, so every datagram it sends to or
 * gets from another peer crosses that proxy: `up` is its upload (a rate bottleneck of the
 * peer's capacity with a 2 s drop-tail queue, half its access delay), `down` its download
 * (the other half). The edge's WebSocket goes direct (TCP on loopback, as the simulation's
 * reliable control channel). Talks to the bench over IPC: start, mark (the measured window
 * begins), end (figures, then exit).
 */
import { P2pPeer, type P2pPeerStats } from '../../client/p2p/P2pPeer.js';
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

export interface StartMsg {
  t: 'start';
  url: string;
  turn: { port: number; user: string; pass: string };
  epoch: number;
  peers: HostedPeer[];
}

export interface PeerSnap {
  index: number;
  startupMs: number | null;
  played: number;
  onTime: number;
  missed: number;
  playedBytes: number;
  peerBytes: number;
  edgeBytes: number;
  linkBytes: number;
  channels: number;
  ended: string | null;
  upDropped: number;
  upBytes: number;
}

export type FromHost = { t: 'snap'; kind: 'mark' | 'end'; peers: PeerSnap[]; delays: number[]; cpuMs: number };

/** Upload the emulator gives a peer that claims almost none: its control messages still leave (as Network.transmit's floor). */
const MIN_UPLOAD_KBPS = 16;
const QUEUE_MS = 2000;

interface Running {
  h: HostedPeer;
  proxy: UdpLinkProxy;
  peer?: P2pPeer;
  ended: string | null;
}

const running: Running[] = [];
let delays: number[] = [];
let measuring = false;
let cpuAtMark = process.cpuUsage();

function snap(r: Running): PeerSnap {
  const s: P2pPeerStats | undefined = r.peer?.stats;
  const up = r.proxy.upLink.stats;
  return {
    index: r.h.index,
    startupMs: s?.startupMs ?? null,
    played: s?.played ?? 0,
    onTime: s?.onTime ?? 0,
    missed: s?.missed ?? 0,
    playedBytes: s?.playedBytes ?? 0,
    peerBytes: s?.peerBytes ?? 0,
    edgeBytes: s?.edgeBytes ?? 0,
    linkBytes: s?.links.receivedBytes ?? 0,
    channels: s?.channels ?? 0,
    ended: r.ended,
    upDropped: up.droppedQueue + up.droppedLoss,
    upBytes: up.deliveredBytes,
  };
}

async function start(m: StartMsg): Promise<void> {
  for (const h of m.peers) {
    const kbps = Math.max(MIN_UPLOAD_KBPS, h.uploadKbps);
    const proxy = new UdpLinkProxy({
      target: { host: '127.0.0.1', port: m.turn.port },
      up: { delayMs: h.oneWayMs, loss: h.loss, bottleneck: new RateBottleneck(kbps * 1000), queueBytes: Math.max(3000, (kbps * QUEUE_MS) / 8) },
      down: { delayMs: h.oneWayMs, loss: h.loss },
      seed: h.index + 1,
    });
    const port = await proxy.listen();
    const r: Running = { h, proxy, ended: null };
    running.push(r);
    setTimeout(() => {
      const peer = new P2pPeer({
        url: m.url,
        write: () => undefined,
        uploadKbps: h.uploadKbps,
        rtc: { iceServers: [{ urls: `turn:127.0.0.1:${port}?transport=udp`, username: m.turn.user, credential: m.turn.pass }], iceTransportPolicy: 'relay' },
        onPlayed: (delay) => {
          if (measuring) delays.push(Math.round(delay));
        },
      });
      r.peer = peer;
      void peer.ended.then((why) => (r.ended = why));
    }, Math.max(0, m.epoch + h.joinAt - Date.now()));
  }
}

function report(kind: 'mark' | 'end'): void {
  const cpu = process.cpuUsage(cpuAtMark);
  const msg: FromHost = { t: 'snap', kind, peers: running.map(snap), delays, cpuMs: (cpu.user + cpu.system) / 1000 };
  process.send!(msg);
}

process.on('message', (m: { t: string }) => {
  if (m.t === 'start') void start(m as StartMsg).catch((err: Error) => {
    process.stderr.write(`peer host: ${err.message}\n`);
    process.exit(1);
  });
  else if (m.t === 'mark') {
    delays = [];
    measuring = true;
    cpuAtMark = process.cpuUsage();
    report('mark');
  } else if (m.t === 'end') {
    measuring = false;
    report('end');
    for (const r of running) {
      r.peer?.stop('bench over');
      r.proxy.close();
    }
    setTimeout(() => process.exit(0), 500);
  }
});
// The bench gone: nothing here outlives it.
process.on('disconnect', () => process.exit(0));
