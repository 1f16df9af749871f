import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { P2pService } from './P2pService.js';

/** The P2P endpoint's figures on a server's prom-client registry, read at scrape time. */
export function addP2pMetrics(prom: PromRegistry, p2p: P2pService): void {
  const registers = [prom];
  const c = p2p.counters;
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(read()); } });
  };
  new Gauge({ name: 'tributary_p2p_peers', help: 'Browsers connected to the P2P signalling endpoint', registers, collect() { this.set(c.peersOpen); } });
  new Gauge({ name: 'tributary_p2p_streams', help: 'Streams with P2P peers', registers, collect() { this.set(p2p.streams.size); } });
  counter('tributary_p2p_joins_total', 'Peers that joined a stream\'s swarm', () => c.joins);
  counter('tributary_p2p_slice_bytes_total', 'Slice bytes the edge sent to peers (push and compensation)', () => c.sliceBytesOut);
  counter('tributary_p2p_rate_dropped_total', 'Peer messages dropped over the rate limit', () => c.rateDropped);
  counter('tributary_p2p_garbage_total', 'Peer messages that did not decode or were not allowed', () => c.garbage);
  counter('tributary_p2p_signals_total', 'Signals relayed between peers', () => c.signalsRelayed);
  new Counter({
    name: 'tributary_p2p_refused_total', help: 'Signalling upgrades refused, and peers closed by a limit', labelNames: ['reason'], registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(c.refused)) this.inc({ reason }, n);
      for (const [reason, n] of Object.entries(c.closed)) this.inc({ reason: `closed: ${reason}` }, n);
    },
  });
}
