/**
 * Processing jobs in a cluster: a job made through the API on any node is stored in etcd
 * (jobKeys.ts) and exactly one live node runs it.
 *
 * Every node follows the jobs prefix with one watch. A stored job nobody runs is claimed by the
 * node rankNodes puts first (least loaded, ties by id): it creates the job's owner key, bound to
 * its lease, in a transaction that succeeds only while the key is absent and the spec is the one
 * it read, then runs the job in its JobManager like any other. A node ranked r-th tries r seconds
 * later, so a job still gets a node when the first one is full or hung; the transaction keeps
 * two from ever both holding it. When the owner's lease ends (the node died or lost etcd), the
 * key's delete reaches every watch and the least-loaded survivor claims it.
 *
 * The owner also follows the job's spec key: a PATCH on any node rewrites it and the owner
 * applies the change; a DELETE removes it and the owner stops the job and drops its key. Input
 * streams published on another node come through the cluster's ordinary relays (Relays.fetch,
 * what an edge does for a viewer); outputs are published here and claimed as any stream by
 * ClusterNode, so viewers on other nodes get them by relay too.
 *
 * A node that has not reached etcd for a while (ClusterNode.etcdUnreachableMs) stops its jobs:
 * its lease may have ended and another node may be running them already.
 */
import { randomBytes } from 'node:crypto';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { JobManager } from '../../processing/JobManager.js';
import { MixJob } from '../../processing/mix/MixJob.js';
import { ApiError, type JobInfo, type ProcessingJob } from '../../processing/ProcessingJob.js';
import { TranscodeJob } from '../../processing/TranscodeJob.js';
import type { Logger } from '../../server/log.js';
import type { Registry } from '../../server/Registry.js';
import type { ClusterView } from '../ClusterView.js';
import type { Membership } from '../Membership.js';
import type { Relays } from '../Relays.js';
import { encodeSpec, JOBS, MAX_SPEC_BYTES, MAX_STORED_JOBS, ownerKey, parseSpec, specKey, streamsOf, type JobOwnerRecord, type StoredSpec } from './jobKeys.js';
import { patched } from './jobPatch.js';
import { JobTable, type Owner, type Spec } from './jobTable.js';
import { rankNodes } from './rank.js';

const TICK_MS = 250;
/** How much later each next node in the ranking tries a job still unclaimed, ms. */
const RANK_STEP_MS = 1000;
/** A job this node could not start (an output taken here, its bound) is not claimed again for this long, ms. */
const REFUSED_MS = 5000;
/** An owner key naming no live node for this long (written by hand, or garbage) is removed, ms. */
const ORPHAN_MS = 5000;

export interface JobPlacementOptions {
  client: Etcd3;
  membership: Membership;
  view: ClusterView;
  relays: Relays;
  registry: Registry;
  jobs: JobManager;
  self: string;
  logger: Logger;
  /** 0 while etcd answers this node; else for how long it has not (ClusterNode.etcdUnreachableMs). */
  etcdUnreachableMs: () => number;
}



interface Local {
  job: ProcessingJob;
  claim: number;
  specRev: number;
  reported: string;
}

/** A job as GET /api/jobs shows it in a cluster: the node's own fields, and the node running it (null: none yet). */
export type ClusterJobInfo = JobInfo & { node: string | null };

export class JobPlacement {
  /** The jobs prefix as this node's watch last showed it. */
  readonly table: JobTable;
  readonly specs: Map<string, Spec>;
  readonly owners: Map<string, Owner>;
  private readonly local = new Map<string, Local>();
  private readonly unownedSince = new Map<string, number>();
  private readonly refusedUntil = new Map<string, number>();
  private readonly orphanSince = new Map<string, number>();
  /** Who ran each job last (to count moves). */
  private readonly lastNode: Map<string, string>;
  private readonly fetching = new Set<string>();
  private watcher: Watcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private again = false;
  private closed = false;
  readonly stats = {
    claims: 0,
    /** Claims another node won (or the spec changed meanwhile). */
    claimRaces: 0,
    /** Claims of a job another node ran before (its node died or gave it up). */
    moves: 0,
    /** Jobs stopped here because the owner key went or named another node. */
    lost: 0,
    /** Values under the jobs prefix that are not a job (garbage, too large, a bad spec): skipped. */
    badValues: 0,
    /** Stored jobs past MAX_STORED_JOBS: skipped. */
    overCap: 0,
    /** Claims whose job this node then could not start (released again). */
    startRefused: 0,
    orphansRemoved: 0,
    /** Times this node stopped its jobs because etcd did not answer it. */
    stoppedNoEtcd: 0,
    /** Steps of the loop an etcd call failed in (retried on the next). */
    stepFailures: 0,
  };

  constructor(private readonly o: JobPlacementOptions) {
    this.table = new JobTable(o.logger, this.stats);
    ({ specs: this.specs, owners: this.owners, lastNode: this.lastNode } = this.table);
  }

  /** How many cluster jobs `node` runs, from the owner keys. */
  jobsOn(node: string): number {
    return this.table.jobsOn(node);
  }

  async start(): Promise<void> {
    const r = await this.o.client.getAll().prefix(JOBS).exec();
    for (const kv of r.kvs) this.onPut(kv);
    this.watcher = await this.o.client.watch().prefix(JOBS).startRevision(String(Number(r.header.revision) + 1)).create();
    this.watcher.on('put', (kv) => this.onPut(kv));
    this.watcher.on('delete', (kv) => this.onDelete(kv));
    this.watcher.on('error', () => undefined);
    this.timer = setInterval(() => this.poke(), TICK_MS);
    this.timer.unref();
    this.poke();
  }

  /** Stops this node's cluster jobs (their owner keys go with them, or with the lease right after). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.watcher?.cancel().catch(() => undefined);
    await Promise.all([...this.local.entries()].map(([id, l]) => this.release(id, l.claim, 'node leaving')));
  }

  isRunningHere(id: string): boolean {
    return this.local.has(id);
  }

  // ---- the API's side (jobsApi.ts) ----

  /** Stores a new job (validated by the caller's schema); resolves with its id. Throws ApiError for a refusal. */
  async create(stored: StoredSpec, want: string | undefined): Promise<string> {
    const id = want ?? `job-${randomBytes(4).toString('hex')}`;
    const value = encodeSpec(stored, this.o.self);
    if (Buffer.byteLength(value) > MAX_SPEC_BYTES) throw new ApiError(413, `job spec larger than ${MAX_SPEC_BYTES} bytes as stored`);
    const nodes = Math.max(1, this.o.view.nodes.size);
    const cap = Math.min(MAX_STORED_JOBS, this.o.jobs.options.maxJobs * nodes);
    if (this.specs.size >= cap) throw new ApiError(429, `the cluster runs at most ${cap} jobs (processing.maxJobs ${this.o.jobs.options.maxJobs} x ${nodes} live nodes); ${this.specs.size} are stored`);
    if (this.specs.has(id) || this.o.jobs.jobs.has(id)) throw new ApiError(409, `a job named ${id} exists`);
    const { inputs, outputs } = streamsOf(stored);
    for (const out of outputs) {
      for (const [other, s] of this.specs) if (streamsOf(s.stored).outputs.includes(out)) throw new ApiError(409, `output ${out} is published by job ${other}`);
      if (this.o.jobs.outputsInUse().has(out)) throw new ApiError(409, `output ${out} is published by another job`);
      if (this.o.view.owners.has(out) || this.isLiveHere(out)) throw new ApiError(409, `output ${out} is already being published`);
      if (inputs.includes(out)) throw new ApiError(422, `output ${out} is also an input`);
    }
    for (const input of inputs) {
      if (!this.o.view.owners.has(input) && !this.isLiveHere(input)) throw new ApiError(422, `input ${input} is not a live stream of the cluster`);
    }
    const k = specKey(id);
    const r = await this.o.client.if(k, 'Create', '==', 0).then(this.o.client.put(k).value(value)).commit();
    if (!r.succeeded) throw new ApiError(409, `a job named ${id} exists`);
    // Known here at once (the watch brings the same put a moment later).
    if (!this.specs.has(id)) this.specs.set(id, { stored: parseSpec(Buffer.from(value)) ?? stored, rev: Number(r.header.revision), created: Number(r.header.revision) });
    this.poke();
    this.o.logger.info({ job: id, kind: stored.kind }, 'cluster: job stored');
    return id;
  }

  /** Rewrites a job's spec with a PATCH body (checked as the job itself would); the owner applies it. */
  async patch(id: string, body: unknown): Promise<void> {
    const cur = this.specs.get(id);
    if (!cur) throw new ApiError(404, `no job ${id}`);
    const next = patched(cur.stored, body);
    const k = specKey(id);
    const r = await this.o.client.if(k, 'Mod', '==', cur.rev).then(this.o.client.put(k).value(encodeSpec(next, this.o.self))).commit();
    if (!r.succeeded) throw new ApiError(409, `job ${id} changed meanwhile; read it and try again`);
    // Unless the watch brought something newer meanwhile (another PATCH, a DELETE).
    const now = this.specs.get(id);
    if (now && now.rev < Number(r.header.revision)) this.specs.set(id, { stored: next, rev: Number(r.header.revision), created: cur.created });
    // Run here: applied now, so the answer shows it (elsewhere the owner's watch brings it).
    const l = this.local.get(id);
    const spec = this.specs.get(id);
    if (l && spec && spec.rev !== l.specRev) this.applyChange(id, l, spec);
  }

  /** Removes a job from etcd and waits (up to waitMs) for its node to stop it; resolves with that node. */
  async remove(id: string, waitMs = 5000): Promise<{ node: string | null; stopped: boolean }> {
    if (!this.specs.has(id)) throw new ApiError(404, `no job ${id}`);
    const node = this.owners.get(id)?.node ?? null;
    const k = specKey(id);
    const r = await this.o.client.if(k, 'Version', '>', 0).then(this.o.client.delete().key(k)).commit();
    if (!r.succeeded) throw new ApiError(404, `no job ${id}`);
    this.specs.delete(id);
    this.poke();
    const until = Date.now() + waitMs;
    while (this.owners.has(id) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    return { node, stopped: !this.owners.has(id) };
  }

  info(id: string): ClusterJobInfo | undefined {
    const s = this.specs.get(id);
    if (!s) return undefined;
    const l = this.local.get(id);
    if (l) return { ...l.job.info(), node: this.o.self };
    const owner = this.owners.get(id);
    const { inputs, outputs } = streamsOf(s.stored);
    const blocked = owner ? undefined : this.table.blockedBy(id, s);
    const urls = s.stored.kind === 'transcode' ? ('url' in s.stored.spec.input ? [s.stored.spec.input.url] : inputs) : inputs;
    return {
      id, kind: s.stored.kind, node: owner?.node ?? null,
      state: owner?.state ?? (blocked ? 'failed' : 'waiting'),
      reason: owner ? owner.reason : blocked ? `output ${blocked.output} is published by job ${blocked.job} (stored first)` : 'no node has claimed it yet',
      restarts: 0, cpu: 0, delayMs: null, inputs: urls, outputs, startedAt: s.stored.at ?? '', spec: s.stored.spec,
    };
  }

  list(kinds?: JobInfo['kind'][]): ClusterJobInfo[] {
    const out: ClusterJobInfo[] = [];
    for (const id of this.specs.keys()) {
      const i = this.info(id);
      if (i && (!kinds || kinds.includes(i.kind))) out.push(i);
    }
    return out;
  }


  // ---- the watch ----

  private onPut(kv: IKeyValue): void {
    this.table.onPut(kv);
    this.poke();
  }

  private onDelete(kv: IKeyValue): void {
    const k = this.table.onDelete(kv);
    if (k?.part === 'spec') this.refusedUntil.delete(k.id);
    this.poke();
  }

  // ---- the loop ----

  /** Runs the loop soon (once at a time; a poke during a run runs it again after). */
  private poke(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    setImmediate(() => {
      this.tick()
        .catch((err: unknown) => {
          // Logged at the 1st, 2nd, 4th, 8th... failure: an etcd that keeps refusing does not flood the log.
          const n = ++this.stats.stepFailures;
          if ((n & (n - 1)) === 0) this.o.logger.warn({ err: (err as Error).message, failures: n }, 'cluster: job placement step failed; retried');
        })
        .finally(() => {
          this.ticking = false;
          if (this.again) {
            this.again = false;
            this.poke();
          }
        });
    });
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    if (this.o.etcdUnreachableMs() > 0) {
      if (this.local.size > 0) {
        this.stats.stoppedNoEtcd++;
        this.o.logger.warn({ jobs: [...this.local.keys()] }, 'cluster: etcd unreachable; stopping this node\'s jobs (its lease may have ended)');
        for (const id of [...this.local.keys()]) await this.stopLocal(id, 'etcd unreachable');
      }
      return;
    }
    await this.checkLocal();
    await this.removeOrphans(now);
    await this.claimOne(now);
  }

  /** This node's jobs: still ours, still stored, their spec changes applied, their state told, their inputs relayed here. */
  private async checkLocal(): Promise<void> {
    for (const [id, l] of [...this.local]) {
      const spec = this.specs.get(id);
      const owner = this.owners.get(id);
      if (!spec) {
        this.o.logger.info({ job: id }, 'cluster: job deleted; stopping it');
        await this.release(id, l.claim, 'deleted');
        continue;
      }
      if (owner && (owner.node !== this.o.self || owner.claim !== l.claim)) {
        this.stats.lost++;
        this.o.logger.warn({ job: id, owner: owner.node }, 'cluster: job claimed elsewhere; stopping it here');
        await this.stopLocal(id, 'claimed by another node');
        continue;
      }
      if (!owner) {
        // The key went (a new lease replaced a lost one): stop; the loop may claim it again.
        this.stats.lost++;
        this.o.logger.warn({ job: id }, 'cluster: job owner key gone; stopping it here');
        await this.stopLocal(id, 'owner key gone');
        continue;
      }
      const blocked = this.table.blockedBy(id, spec);
      if (blocked) {
        // Claimed before this node saw the older job with the same output: that one runs instead.
        this.o.logger.warn({ job: id, output: blocked.output, older: blocked.job }, 'cluster: an older job publishes this job\'s output; stopping it');
        await this.release(id, l.claim, `output ${blocked.output} is published by job ${blocked.job}`);
        continue;
      }
      if (spec.rev !== l.specRev) this.applyChange(id, l, spec);
      if (l.job.state !== l.reported) await this.report(id, l);
      this.fetchInputs(l.job);
    }
    // An owner key naming this node for a job it does not run (it stopped them while etcd was
    // away, and the lease outlived that; or a previous process of this node): given up, so the
    // job is placed again rather than held by nobody for as long as the lease lives.
    for (const [id, o] of [...this.owners]) {
      if (o.node !== this.o.self || this.local.has(id)) continue;
      this.o.logger.info({ job: id }, 'cluster: giving up an owner key of a job not running here');
      await this.dropOwner(id, o.claim);
    }
  }

  private applyChange(id: string, l: Local, spec: Spec): void {
    l.specRev = spec.rev;
    const s = spec.stored;
    const body = s.kind === 'transcode'
      ? { outputs: s.spec.outputs, fps: s.spec.fps, gopSeconds: s.spec.gopSeconds, preset: s.spec.preset, audioKbps: s.spec.audioKbps }
      : { layout: s.spec.layout, main: s.spec.main, gains: s.spec.inputs.map((i) => i.gain) };
    try {
      l.job.patch(body);
      this.o.logger.info({ job: id }, 'cluster: job changed (its spec in etcd)');
    } catch (err) {
      // A change the running job cannot take (checked before storing, so rare): it starts again from the new spec.
      this.o.logger.warn({ job: id, err: (err as Error).message }, 'cluster: job change not applied live; restarting it');
      void this.release(id, l.claim, 'restart with the new spec');
    }
  }

  private async report(id: string, l: Local): Promise<void> {
    const state = l.job.state;
    const info = l.job.info();
    const value = JSON.stringify({ node: this.o.self, state, reason: info.reason?.slice(0, 1000) ?? null } satisfies JobOwnerRecord);
    const lease = await this.o.membership.currentLease();
    const k = ownerKey(id);
    const r = await this.o.client.if(k, 'Create', '==', l.claim).then(this.o.client.put(k).value(value).lease(lease)).commit();
    if (r.succeeded) l.reported = state;
  }

  /** Input streams live on another node come here by relay, as for a viewer (Relays.fetch). */
  private fetchInputs(job: ProcessingJob): void {
    for (const path of job.inputStreams) {
      if (this.isLiveHere(path) || this.fetching.has(path)) continue;
      const owner = this.o.view.owners.get(path);
      if (!owner || owner.node === this.o.self) continue;
      const [app, key] = path.split('/') as [string, string];
      this.fetching.add(path);
      void this.o.relays.fetch(app, key).catch(() => undefined).finally(() => this.fetching.delete(path));
    }
  }

  private async removeOrphans(now: number): Promise<void> {
    for (const [id, o] of this.owners) {
      if (o.node !== '' && this.o.view.nodes.has(o.node)) {
        this.orphanSince.delete(id);
        continue;
      }
      const since = this.orphanSince.get(id) ?? now;
      this.orphanSince.set(id, since);
      if (now - since < ORPHAN_MS) continue;
      this.orphanSince.delete(id);
      const k = ownerKey(id);
      const r = await this.o.client.if(k, 'Mod', '==', o.mod).then(this.o.client.delete().key(k)).commit();
      if (r.succeeded) {
        this.stats.orphansRemoved++;
        this.o.logger.warn({ job: id, node: o.node }, 'cluster: removed an owner key naming no live node');
      }
    }
    for (const id of this.orphanSince.keys()) if (!this.owners.has(id)) this.orphanSince.delete(id);
  }

  /** Claims at most one unowned job per step, so the counts the ranking uses are current for the next. */
  private async claimOne(now: number): Promise<void> {
    const maxJobs = this.o.jobs.options.maxJobs;
    const ranked = rankNodes(this.o.view.nodes.values(), (n) => this.jobsOn(n), maxJobs);
    for (const id of this.unownedSince.keys()) if (!this.specs.has(id) || this.owners.has(id)) this.unownedSince.delete(id);
    for (const [id, spec] of this.specs) {
      if (this.owners.has(id) || this.local.has(id) || this.table.blockedBy(id, spec)) continue;
      const since = this.unownedSince.get(id) ?? now;
      this.unownedSince.set(id, since);
      // The node that gave the job up while alive (leaving, could not start it) goes last for it.
      const gaveUp = this.lastNode.get(id);
      const order = gaveUp === undefined ? ranked : [...ranked.filter((n) => n.id !== gaveUp), ...ranked.filter((n) => n.id === gaveUp)];
      const rank = order.findIndex((n) => n.id === this.o.self);
      if (rank < 0 || this.o.jobs.jobs.size >= maxJobs || (this.refusedUntil.get(id) ?? 0) > now) continue;
      if (now - since < rank * RANK_STEP_MS) continue;
      await this.claim(id, spec);
      return;
    }
  }

  private async claim(id: string, spec: Spec): Promise<void> {
    // Read before the transaction: its own put may reach the watch before its answer does.
    const before = this.lastNode.get(id);
    const lease = await this.o.membership.currentLease();
    const k = ownerKey(id);
    const value = JSON.stringify({ node: this.o.self, state: 'starting', reason: null } satisfies JobOwnerRecord);
    const r = await this.o.client.if(k, 'Create', '==', 0).and(specKey(id), 'Mod', '==', spec.rev).then(this.o.client.put(k).value(value).lease(lease)).commit();
    if (!r.succeeded) {
      this.stats.claimRaces++;
      return;
    }
    const claim = Number(r.header.revision);
    this.stats.claims++;
    if (before !== undefined && before !== this.o.self) this.stats.moves++;
    this.owners.set(id, { node: this.o.self, state: 'starting', reason: null, claim, mod: claim });
    this.lastNode.set(id, this.o.self);
    this.o.logger.info({ job: id, claim, from: before }, 'cluster: job claimed; starting it here');
    // A viewer of an output here was fed by a relay from the job's old node: this node publishes it now.
    for (const out of streamsOf(spec.stored).outputs) {
      const relay = this.o.relays.get(out);
      if (relay && relay.owner !== this.o.self) relay.close('the job publishing it runs on this node now');
    }
    try {
      const s = spec.stored;
      const job = this.o.jobs.add(id, (jobId) => (s.kind === 'transcode' ? new TranscodeJob(jobId, s.spec, this.o.jobs.jobDeps) : new MixJob(jobId, s.spec, this.o.jobs.jobDeps)), false);
      this.local.set(id, { job, claim, specRev: spec.rev, reported: 'starting' });
      this.fetchInputs(job);
    } catch (err) {
      this.stats.startRefused++;
      this.refusedUntil.set(id, Date.now() + REFUSED_MS);
      this.o.logger.warn({ job: id, err: (err as Error).message }, 'cluster: claimed job could not start here; releasing it');
      await this.dropOwner(id, claim);
    }
  }

  private async stopLocal(id: string, why: string): Promise<void> {
    const l = this.local.get(id);
    if (!l) return;
    this.local.delete(id);
    this.o.logger.info({ job: id, why }, 'cluster: job stopped here');
    if (this.o.jobs.jobs.get(id) === l.job) await this.o.jobs.remove(id).catch(() => undefined);
    else await l.job.close();
  }

  /**
   * Stops a job here and gives its owner key up, without waiting for the ffmpeg to exit first (up
   * to 2 s when it ignores SIGTERM): a job's close() unpublishes its outputs at once, before it
   * waits for its processes, so the next node may start publishing them meanwhile.
   */
  private async release(id: string, claim: number, why: string): Promise<void> {
    await Promise.all([this.stopLocal(id, why), this.dropOwner(id, claim)]);
  }

  /** Deletes the owner key if it is still this claim's. */
  private async dropOwner(id: string, claim: number): Promise<void> {
    const k = ownerKey(id);
    const r = await this.o.client.if(k, 'Create', '==', claim).then(this.o.client.delete().key(k)).commit().catch(() => undefined);
    // Gone now (the watch says so too, a moment later): not given up a second time meanwhile.
    if (r?.succeeded && this.owners.get(id)?.claim === claim) this.owners.delete(id);
  }

  private isLiveHere(path: string): boolean {
    const [app, key] = path.split('/') as [string, string];
    return this.o.registry.find(app, key)?.isLive === true;
  }
}

