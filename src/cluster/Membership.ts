/**
 * A node's place in the cluster: one etcd lease (TTL ~2 s, kept alive by the client every third
 * of it) under which the node's record is written, refreshed every second with its load. When the
 * node dies its lease ends and etcd removes the record and every stream key it owned, with no
 * clock compared anywhere. When the lease is lost (etcd unreachable for longer than the TTL), a
 * new one is granted as soon as etcd answers and `onNewLease` lets owners re-claim their streams.
 *
 * One regrant loop at a time: the etcd3 client reports a failed grant as a 'lost' lease too, and
 * while its circuit breakers are open a grant fails at once, so without that guard every failed
 * attempt started another loop at once (measured with every etcd member stopped: 77,732 lease
 * requests in the first second after the lease was given up, 320,636 four seconds later, and the
 * node stopped serving its viewers; with it, one every 500 ms).
 */
import type { Etcd3, Lease } from 'etcd3';
import { nodeKey, type NodeRecord } from './keys.js';
import type { Logger } from '../server/log.js';

const REGRANT_MS = 500;

export interface MembershipOptions {
  client: Etcd3;
  ttlSeconds: number;
  refreshMs: number;
  /** The record to write now (its load read fresh each time). */
  record: () => NodeRecord;
  logger: Logger;
  /** A new lease replaced a lost one: what was bound to the old one is gone from etcd. */
  onNewLease: () => void;
}

export class Membership {
  private lease: Lease | undefined;
  private leaseId: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Record writes that failed (etcd unreachable): counted, retried on the next tick. */
  writeFailures = 0;
  writes = 0;
  /** Leases asked for (the first, and each after a loss): bounded by one per REGRANT_MS during an outage. */
  grants = 0;
  /** performance.now() of the last record write etcd took (0: none yet): how old this node's word in etcd is. */
  lastWriteAt = 0;
  private regranting = false;
  /**
   * Bumped each time a lease is asked for. A claim reads it before taking the lease id and
   * checks it after its transaction: a different value means the lease it bound the key to was
   * given up meanwhile, so the key dies with that lease and the claim must be made again.
   */
  generation = 0;

  constructor(private readonly o: MembershipOptions) {}

  async start(): Promise<void> {
    await this.grant();
    await this.write();
    this.timer = setInterval(() => void this.write(), this.o.refreshMs);
    this.timer.unref();
  }

  /** The current lease's id (waits while a new one is being granted). */
  currentLease(): Promise<string> {
    if (!this.leaseId) throw new Error('membership not started');
    return this.leaseId;
  }

  private grant(): Promise<string> {
    const lease = this.o.client.lease(this.o.ttlSeconds, { autoKeepAlive: true });
    this.grants++;
    this.generation++;
    this.lease = lease;
    lease.on('lost', (err) => {
      if (this.closed || this.lease !== lease) return;
      this.o.logger.warn({ err: err.message }, 'cluster: lease lost; granting a new one');
      void this.regrant();
    });
    this.leaseId = lease.grant();
    return this.leaseId;
  }

  private async regrant(): Promise<void> {
    // A grant that fails in this loop fires 'lost' on its lease as well: this loop retries it.
    if (this.regranting) return;
    this.regranting = true;
    try {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          await this.grant();
          await this.write();
          this.o.onNewLease();
          return;
        } catch (err) {
          if ((attempt & (attempt - 1)) === 0) this.o.logger.warn({ err: (err as Error).message, attempt }, 'cluster: no new lease yet');
          await new Promise((r) => setTimeout(r, REGRANT_MS));
        }
      }
    } finally {
      this.regranting = false;
    }
  }

  private async write(): Promise<void> {
    if (this.closed || !this.lease) return;
    const rec = this.o.record();
    try {
      await this.lease.put(nodeKey(rec.id)).value(JSON.stringify(rec));
      this.writes++;
      this.lastWriteAt = performance.now();
    } catch (err) {
      this.writeFailures++;
      if ((this.writeFailures & (this.writeFailures - 1)) === 0) this.o.logger.warn({ err: (err as Error).message, failures: this.writeFailures }, 'cluster: node record not written');
    }
  }

  /** Revokes the lease: the record and owned streams go at once (a clean shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.lease?.revoke().catch(() => undefined);
  }
}
