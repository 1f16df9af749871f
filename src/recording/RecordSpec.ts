import { z } from 'zod';
import { templateProblem } from './pathTemplate.js';
import type { RecordSettings } from './Recorder.js';

const DEFAULTS: RecordSettings = { enabled: false, path: 'recordings/{app}/{key}/{date}', segmentSeconds: 4, queueBytes: 32 << 20, replicas: 1 };

const Settings = z.strictObject({
  enabled: z.boolean().default(true),
  /** Relative to the server's working directory unless absolute. */
  path: z.string().superRefine((t, ctx) => {
    const p = templateProblem(t);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  }).default(DEFAULTS.path),
  segmentSeconds: z.number().min(0.5).max(3600).default(DEFAULTS.segmentSeconds),
  /** Bytes a recording may hold waiting for its disk; past it, frames are dropped to the next keyframe. */
  queueBytes: z.number().int().min(1 << 16).max(2 ** 32).default(DEFAULTS.queueBytes),
  replicas: z.number().int().min(1).max(3).default(DEFAULTS.replicas),
});

/** An app's `record`: `true`/`false`, or the settings (docs/operations.md, "Recording"). */
export const RecordSpec = z.union([z.boolean().transform((enabled): RecordSettings => ({ ...DEFAULTS, enabled })), Settings]);
