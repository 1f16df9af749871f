/**
 * The jobs prefix of etcd as one node's watch shows it: each job's stored spec and owner key,
 * and who ran each job last. Values that are not a job (garbage, too large, past the bound) are
 * skipped and counted, never trusted. JobPlacement acts on it; this only mirrors.
 */
import type { IKeyValue } from 'etcd3';
import type { Logger } from '../../server/log.js';
import { jobIdOf, MAX_STORED_JOBS, parseOwner, parseSpec, streamsOf, type JobOwnerRecord, type StoredSpec } from './jobKeys.js';

export interface Spec {
  stored: StoredSpec;
  /** The spec key's mod revision: a claim or a PATCH is made against it. */
  rev: number;
  /** Its create revision: of two jobs with an output in common, only the older one runs. */
  created: number;
}

export interface Owner extends JobOwnerRecord {
  /** The owner key's create revision: one claim. */
  claim: number;
  mod: number;
}

export class JobTable {
  readonly specs = new Map<string, Spec>();
  readonly owners = new Map<string, Owner>();
  /** Who ran each job last (to count moves, and to rank the node that gave a job up last). */
  readonly lastNode = new Map<string, string>();
  private readonly badLogged = new Set<string>();

  constructor(private readonly logger: Logger, private readonly stats: { badValues: number; overCap: number }) {}

  /** How many cluster jobs `node` runs, from the owner keys. */
  jobsOn(node: string): number {
    let n = 0;
    for (const o of this.owners.values()) if (o.node === node) n++;
    return n;
  }

  /** A put under the jobs prefix: a spec or an owner key, or a value skipped and counted. */
  onPut(kv: IKeyValue): void {
    const key = kv.key.toString();
    const k = jobIdOf(key);
    if (!k) return this.bad(key, 'not a job key');
    if (k.part === 'spec') {
      const stored = parseSpec(kv.value);
      if (!stored) {
        // What the key holds now is not a job: as good as deleted (a running copy stops).
        this.specs.delete(k.id);
        return this.bad(key, 'not a valid job spec');
      }
      if (!this.specs.has(k.id) && this.specs.size >= MAX_STORED_JOBS) {
        this.stats.overCap++;
        return this.bad(key, `more than ${MAX_STORED_JOBS} jobs stored`);
      }
      this.specs.set(k.id, { stored, rev: Number(kv.mod_revision), created: Number(kv.create_revision) });
    } else {
      if (!this.owners.has(k.id) && this.owners.size >= MAX_STORED_JOBS) {
        this.stats.overCap++;
        return this.bad(key, `more than ${MAX_STORED_JOBS} owner keys`);
      }
      const rec = parseOwner(kv.value);
      this.bad(key, 'not a valid owner record', rec !== undefined);
      // An unreadable owner key still holds the job (the create-if-absent fails): kept as held by
      // nobody live, so it is removed as an orphan after ORPHAN_MS.
      this.owners.set(k.id, { ...(rec ?? { node: '', state: 'failed', reason: 'unreadable owner record' }), claim: Number(kv.create_revision), mod: Number(kv.mod_revision) });
      if (rec) this.lastNode.set(k.id, rec.node);
    }
  }

  /** The job key the delete was of (undefined: none). */
  onDelete(kv: IKeyValue): { id: string; part: 'spec' | 'owner' } | undefined {
    const k = jobIdOf(kv.key.toString());
    if (!k) return undefined;
    if (k.part === 'spec') {
      this.specs.delete(k.id);
      if (!this.owners.has(k.id)) this.lastNode.delete(k.id);
    } else {
      this.owners.delete(k.id);
      if (!this.specs.has(k.id)) this.lastNode.delete(k.id);
    }
    return k;
  }

  private bad(key: string, why: string, ok = false): void {
    if (ok) return;
    this.stats.badValues++;
    const short = key.slice(0, 200);
    if (this.badLogged.size < 100 && !this.badLogged.has(short)) {
      this.badLogged.add(short);
      this.logger.warn({ key: short, why }, 'cluster: skipped a value under the jobs prefix');
    }
  }

  // ---- the loop ----

  /**
   * Two jobs stored at once on two nodes with an output in common (each node's check passed
   * before it saw the other's): the one etcd stored first runs; the other is never claimed
   * (shown failed) until that one is deleted.
   */
  blockedBy(id: string, spec: Spec): { job: string; output: string } | undefined {
    const mine = streamsOf(spec.stored).outputs;
    for (const [other, s] of this.specs) {
      if (other === id || s.created > spec.created || (s.created === spec.created && other > id)) continue;
      const output = streamsOf(s.stored).outputs.find((o) => mine.includes(o));
      if (output) return { job: other, output };
    }
    return undefined;
  }
}
