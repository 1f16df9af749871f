/** A stored job with a PATCH body applied (jobsApi's PATCH, through JobPlacement.patch). */
import { issuesOf, MixPatch, MixSpec, TranscodePatch, TranscodeSpec } from '../../processing/JobSpec.js';
import { ApiError } from '../../processing/ProcessingJob.js';
import type { StoredSpec } from './jobKeys.js';

/** A stored job with a PATCH body applied, checked as the running job's patch() checks it. */
export function patched(cur: StoredSpec, body: unknown): StoredSpec {
  if (cur.kind === 'transcode') {
    const p = TranscodePatch.safeParse(body);
    if (!p.success) throw new ApiError(400, 'invalid job patch', issuesOf(p.error));
    if (p.data.outputs && p.data.outputs.map((o) => o.stream).join() !== cur.spec.outputs.map((o) => o.stream).join()) {
      throw new ApiError(422, 'a patch may change the outputs\' sizes and rates, not their stream names (make a new job)');
    }
    const next = TranscodeSpec.safeParse({ ...cur.spec, ...p.data });
    if (!next.success) throw new ApiError(400, 'invalid job patch', issuesOf(next.error));
    return { ...cur, spec: next.data };
  }
  const p = MixPatch.safeParse(body);
  if (!p.success) throw new ApiError(400, 'invalid mix patch', issuesOf(p.error));
  const n = cur.spec.inputs.length;
  if (p.data.gains && p.data.gains.length !== n) throw new ApiError(422, `gains: ${n} values expected, one per input`);
  const inputs = p.data.gains ? cur.spec.inputs.map((inp, i) => ({ ...inp, gain: p.data.gains![i]! })) : cur.spec.inputs;
  const next = MixSpec.safeParse({ ...cur.spec, layout: p.data.layout ?? cur.spec.layout, main: p.data.main ?? cur.spec.main, inputs });
  if (!next.success) throw new ApiError(422, 'invalid mix patch', issuesOf(next.error));
  return { ...cur, spec: next.data };
}
