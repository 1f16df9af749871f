import { z } from 'zod';
import { isValidName } from '../server/Registry.js';

/*
 * What a processing job is asked to do, as the API (POST /api/jobs, /api/mixes) and the config
 * (`processing.jobs`, `apps.<name>.ladder`) give it. Strict objects: an unknown field is an
 * error that names it, never silently ignored.
 */

/** "app/key" of a stream of this server. */
export const StreamPath = z
  .string()
  .refine((s) => {
    const [app, key, more] = s.split('/');
    return more === undefined && app !== undefined && key !== undefined && isValidName(app) && isValidName(key);
  }, 'must be "app/key" (A-Z a-z 0-9 _ . - ~)');

/**
 * A file or URL ffmpeg reads. Only schemes a server should fetch from: no `pipe:`, `fd:`,
 * `concat:` or `subfile:` tricks that would read what the server itself holds open.
 */
export const MediaUrl = z
  .string()
  .min(1)
  .max(2048)
  .refine((s) => /^(https?|rtmp|rtsp|srt|udp):\/\//i.test(s) || (/^\//.test(s) && !s.includes('\0')), 'must be an absolute file path or an http(s)/rtmp/rtsp/srt/udp URL');

export const InputSpec = z.union([
  z.strictObject({ stream: StreamPath }),
  z.strictObject({ url: MediaUrl, loop: z.boolean().default(false) }),
]);
export type InputSpec = z.output<typeof InputSpec>;

/** One rung of a quality ladder: `APP/KEY_NAME`, `height` pixels (width follows the aspect), `kbps` of video. */
export const RenditionSpec = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9]{1,16}$/, 'letters and digits, 1..16'),
  height: z.number().int().min(72).max(2160).refine((h) => h % 2 === 0, 'must be even (4:2:0 video)'),
  kbps: z.number().int().min(50).max(50_000),
});
export type RenditionSpec = z.output<typeof RenditionSpec>;

export const OutputSpec = z.strictObject({
  stream: StreamPath,
  height: RenditionSpec.shape.height,
  kbps: RenditionSpec.shape.kbps,
});
export type OutputSpec = z.output<typeof OutputSpec>;

const Preset = z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']);

/**
 * A transcode: one input, one ffmpeg, any number of outputs (a ladder is several) made from the
 * same decoded pictures with keyframes at the same instants (see ladderArgs).
 */
export const TranscodeSpec = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'A-Z a-z 0-9 _ . - (1..64)').optional(),
  input: InputSpec,
  outputs: z.array(OutputSpec).min(1).max(8),
  fps: z.number().int().min(1).max(60).default(30),
  /** Keyframe interval, s: a switch between renditions waits at most this long. */
  gopSeconds: z.number().min(0.25).max(10).default(1),
  preset: Preset.default('veryfast'),
  audioKbps: z.number().int().min(16).max(512).default(96),
});
export type TranscodeSpec = z.output<typeof TranscodeSpec>;
export type TranscodeSpecInput = z.input<typeof TranscodeSpec>;

/** What PATCH /api/jobs/ID may change (the process restarts with it). */
export const TranscodePatch = TranscodeSpec.pick({ outputs: true, fps: true, gopSeconds: true, preset: true, audioKbps: true }).partial().strict();

export const LayoutSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('pip'),
    corner: z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right']).default('bottom-right'),
    /** Width of the inset, as a share of the output's width. */
    size: z.number().min(0.1).max(0.5).default(0.3),
  }),
  z.strictObject({ type: z.literal('side-by-side') }),
  z.strictObject({ type: z.literal('main-sub') }),
  z.strictObject({ type: z.literal('grid') }),
]);
export type LayoutSpec = z.output<typeof LayoutSpec>;

export const MixInputSpec = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'A-Z a-z 0-9 _ - (1..32)').optional(),
  source: InputSpec,
  /** Linear audio gain (0 mutes, 1 as is, up to 4). */
  gain: z.number().min(0).max(4).default(1),
});

export const MixSpec = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'A-Z a-z 0-9 _ . - (1..64)').optional(),
    output: StreamPath,
    inputs: z.array(MixInputSpec).min(1).max(9),
    layout: LayoutSpec.default({ type: 'pip', corner: 'bottom-right', size: 0.3 }),
    /** Index of the input that fills the main place (pip, main-sub). */
    main: z.number().int().min(0).default(0),
    width: z.number().int().min(64).max(3840).refine((w) => w % 2 === 0, 'must be even').default(1280),
    height: z.number().int().min(64).max(2160).refine((h) => h % 2 === 0, 'must be even').default(720),
    fps: z.number().int().min(5).max(60).default(30),
    kbps: z.number().int().min(100).max(20_000).default(2500),
    /** An input with no new picture for this long shows the slate, ms. */
    stallMs: z.number().int().min(50).max(10_000).default(250),
    /** A still image or clip ffmpeg can read (its first picture is used); default a dark frame. */
    slate: MediaUrl.optional(),
    preset: Preset.default('ultrafast'),
  })
  .superRefine((m, ctx) => {
    if (m.main >= m.inputs.length) ctx.addIssue({ code: 'custom', path: ['main'], message: `there are only ${m.inputs.length} inputs` });
    if (m.layout.type === 'side-by-side' && m.inputs.length !== 2) ctx.addIssue({ code: 'custom', path: ['layout'], message: 'side-by-side takes exactly 2 inputs' });
    if (m.layout.type === 'pip' && m.inputs.length !== 2) ctx.addIssue({ code: 'custom', path: ['layout'], message: 'pip takes exactly 2 inputs' });
  });
export type MixSpec = z.output<typeof MixSpec>;
export type MixSpecInput = z.input<typeof MixSpec>;

export const MixPatch = z
  .strictObject({
    layout: LayoutSpec,
    main: z.number().int().min(0),
    /** Gains by input index. */
    gains: z.array(z.number().min(0).max(4)).max(9),
  })
  .partial();
export type MixPatch = z.output<typeof MixPatch>;

export function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
}
