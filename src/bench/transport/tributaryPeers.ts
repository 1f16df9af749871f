import { createClientSession, Endpoint, SeededRandom, type BondMode, type Session, type SessionEvent, type EncryptionMode } from '../../transport/index.js';
import type { SchedulerName } from '../../transport/scheduler/Scheduler.js';
import type { VirtualPeers } from './VirtualRun.js';
import { ccFactory, type CcName } from '../../transport/cc/select.js';

const IDENTITY = 'bench/transport';
const PSK = 'bench-publish-token';

/**
 * A client session and a server endpoint of the real core, seeded so a run repeats. The
 * server side's events are those of every session the endpoint accepted.
 */
export function tributaryPeers(now: number, seed: number, clientPath: string, encryption: EncryptionMode = 'all', bond: BondMode = 'single', initialBitrateBps?: number, cc: CcName = 'delay', scheduler?: SchedulerName): VirtualPeers {
  const client = createClientSession({ now, psk: PSK, identity: IDENTITY, encryption, path: clientPath, random: new SeededRandom(seed), bond, initialBitrateBps, scheduler, congestion: ccFactory(cc, { initialBps: initialBitrateBps }) });
  const server = new Endpoint({ now, resolvePsk: (id) => (id === IDENTITY ? PSK : undefined), random: new SeededRandom(seed + 1) });
  const sessions: Session[] = [];
  let i = 0;
  return {
    client,
    server,
    pollServerEvent(): SessionEvent | undefined {
      for (let e = server.pollEvent(); e; e = server.pollEvent()) sessions.push(e.session);
      for (let n = 0; n < sessions.length; n++) {
        const s = sessions[(i + n) % sessions.length]!;
        const ev = s.pollEvent();
        if (ev) {
          i = (i + n) % sessions.length;
          return ev;
        }
      }
      return undefined;
    },
  };
}
