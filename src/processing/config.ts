import { z } from 'zod';
import { MixSpec, RenditionSpec, TranscodeSpec } from './JobSpec.js';

/** Processing jobs (transcodes, ladders, mixes): the config's `processing` section. */
export const ProcessingConfig = z
  .strictObject({
    /** Jobs this node runs at most, whatever asks (API, config, ladders). */
    maxJobs: z.number().int().min(0).max(256).default(4),
    ffmpeg: z.string().min(1).default('ffmpeg'),
    jobs: z.array(TranscodeSpec).max(64).default([]),
    mixes: z.array(MixSpec).max(64).default([]),
  })
  .prefault({});
export type ProcessingConfig = z.output<typeof ProcessingConfig>;

/** Renditions every live stream of an app gets, as APP/KEY_NAME (an app's `ladder`; docs/operations.md, "Processing"). */
export const LadderConfig = z.array(RenditionSpec).max(8);
