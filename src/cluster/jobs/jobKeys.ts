/**
 * Where cluster jobs sit in etcd (under the cluster's prefix, beside nodes and streams):
 *   tributary/jobs/spec/ID   -> StoredSpec JSON, no lease: the job outlives any node
 *   tributary/jobs/owner/ID  -> JobOwnerRecord JSON, bound to the running node's lease
 * An owner key exists only while a node runs the job; it is created in a transaction that
 * succeeds only if it is absent, so one node at a time holds it. Its create revision names one
 * claim: a later claim (after the lease ended) has a larger one.
 *
 * Everything read back is checked: a value that is too large, not JSON, or not a job the
 * processing schemas accept is skipped and counted (a hand-edited or hostile etcd never crashes a node).
 */
import { z } from 'zod';
import { MixSpec, TranscodeSpec, type MixSpec as MixSpecT, type TranscodeSpec as TranscodeSpecT } from '../../processing/JobSpec.js';
import type { JobState } from '../../processing/ProcessingJob.js';
import { JOBS } from '../keys.js';

export { JOBS };
export const JOB_SPECS = `${JOBS}spec/`;
export const JOB_OWNERS = `${JOBS}owner/`;

/** A stored spec larger than this is refused by the API and skipped when read from etcd, bytes. */
export const MAX_SPEC_BYTES = 32 << 10;
/** Jobs a node keeps in its picture of etcd at most; more (a flood written to etcd) are skipped and counted. */
export const MAX_STORED_JOBS = 1024;

const JOB_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export type StoredSpec = ({ kind: 'transcode'; spec: TranscodeSpecT } | { kind: 'mix'; spec: MixSpecT }) & {
  /** Node whose API took it, and when (ISO): for GET. */
  by?: string;
  at?: string;
};

export interface JobOwnerRecord {
  node: string;
  /** The job's state on its node, written when it changes (so every node's GET shows it). */
  state: JobState;
  reason: string | null;
}

const Stored = z.discriminatedUnion('kind', [
  z.strictObject({ v: z.literal(1), kind: z.literal('transcode'), spec: TranscodeSpec, by: z.string().max(128), at: z.string().max(64) }),
  z.strictObject({ v: z.literal(1), kind: z.literal('mix'), spec: MixSpec, by: z.string().max(128), at: z.string().max(64) }),
]);

const Owner = z.strictObject({
  node: z.string().min(1).max(128),
  state: z.enum(['starting', 'running', 'restarting', 'waiting', 'ended', 'failed', 'stopped']),
  reason: z.string().max(1024).nullable(),
});

export function specKey(id: string): string {
  return `${JOB_SPECS}${id}`;
}

export function ownerKey(id: string): string {
  return `${JOB_OWNERS}${id}`;
}

/** The job id of a spec or owner key, or undefined for anything else. */
export function jobIdOf(etcdKey: string): { id: string; part: 'spec' | 'owner' } | undefined {
  for (const [prefix, part] of [[JOB_SPECS, 'spec'], [JOB_OWNERS, 'owner']] as const) {
    if (!etcdKey.startsWith(prefix)) continue;
    const id = etcdKey.slice(prefix.length);
    return JOB_ID.test(id) ? { id, part } : undefined;
  }
  return undefined;
}

export function encodeSpec(s: StoredSpec, by: string): string {
  return JSON.stringify({ v: 1, kind: s.kind, spec: s.spec, by, at: new Date().toISOString() });
}

export function parseSpec(value: Buffer): StoredSpec | undefined {
  if (value.length > MAX_SPEC_BYTES) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  const r = Stored.safeParse(json);
  if (!r.success) return undefined;
  const { by, at } = r.data;
  return r.data.kind === 'mix' ? { kind: 'mix', spec: r.data.spec, by, at } : { kind: 'transcode', spec: r.data.spec, by, at };
}

export function parseOwner(value: Buffer): JobOwnerRecord | undefined {
  if (value.length > 4096) return undefined;
  try {
    const r = Owner.safeParse(JSON.parse(value.toString('utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** The streams ("app/key") a stored job reads and publishes. */
export function streamsOf(s: StoredSpec): { inputs: string[]; outputs: string[] } {
  if (s.kind === 'transcode') {
    return { inputs: 'stream' in s.spec.input ? [s.spec.input.stream] : [], outputs: s.spec.outputs.map((o) => o.stream) };
  }
  return { inputs: s.spec.inputs.flatMap((i) => ('stream' in i.source ? [i.source.stream] : [])), outputs: [s.spec.output] };
}
