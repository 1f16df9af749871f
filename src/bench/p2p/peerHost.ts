/**
 * A child process of `bench p2p --real --node-peers N`: some of the Node peers (P2pPeer, what
 * `tributary play --p2p` runs), each behind a link emulator of its own (hostedPeer.ts). Talks
 * to the bench over IPC: start, mark (the measured window begins), end (figures, then exit).
 */
import type { P2pPeer, P2pPeerStats } from '../../client/p2p/P2pPeer.js';
import type { UdpLinkProxy } from '../../emulator/UdpLinkProxy.js';
import { emulatedAccess, type HostedPeer, type TurnAt } from './hostedPeer.js';

export type { HostedPeer } from './hostedPeer.js';

export interface StartMsg {
  t: 'start';
  url: string;
  turn: TurnAt;
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
  opened: number;
  openMsSum: number;
  openMsMax: number;
  openTimeouts: number;
}

export type FromHost = { t: 'snap'; kind: 'mark' | 'end'; peers: PeerSnap[]; delays: number[]; cpuMs: number };

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
    opened: s?.links.channelsOpened ?? 0,
    openMsSum: s?.links.openMsSum ?? 0,
    openMsMax: s?.links.openMsMax ?? 0,
    openTimeouts: s?.links.openTimeouts ?? 0,
  };
}

async function start(m: StartMsg): Promise<void> {
  for (const h of m.peers) {
    const { proxy, join } = await emulatedAccess(h, m.turn);
    const r: Running = { h, proxy, ended: null };
    running.push(r);
    setTimeout(() => {
      const peer = join(m.url, (delay) => {
        if (measuring) delays.push(Math.round(delay));
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
