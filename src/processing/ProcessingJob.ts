/** What every processing job (transcode, ladder, mix) shows the API and the manager. */

export type JobState =
  /** Its process is starting and has not produced a frame yet. */
  | 'starting'
  | 'running'
  /** Its process died; a new one starts after the backoff. */
  | 'restarting'
  /** Its input stream is not live; it starts when the input returns. */
  | 'waiting'
  /** Its input ended (a file played once). */
  | 'ended'
  /** It gave up (see reason): a bad input, an output someone else publishes. */
  | 'failed'
  | 'stopped';

export interface JobInfo {
  id: string;
  kind: 'transcode' | 'ladder' | 'mix';
  state: JobState;
  /** Why it is in that state (ffmpeg's last error line, the input that went away, ...). */
  reason: string | null;
  /** Processes started after the first. */
  restarts: number;
  /** Share of one core its processes used recently (1 = a core). */
  cpu: number;
  /** Input frame into the job to output frame out of it, ms (smoothed); null before the first. */
  delayMs: number | null;
  inputs: string[];
  outputs: string[];
  startedAt: string;
  spec: unknown;
}

export interface ProcessingJob {
  readonly id: string;
  readonly kind: JobInfo['kind'];
  readonly state: JobState;
  /** Streams ("app/key") it publishes. */
  readonly outputs: readonly string[];
  /** Streams ("app/key") it reads. */
  readonly inputStreams: readonly string[];
  info(now?: number): JobInfo;
  /** Starts (or restarts after 'waiting'); never throws for a runtime failure: the state says it. */
  start(): void;
  /** A live change; throws ApiError for a change it cannot take. */
  patch(body: unknown): void;
  /** Stops every process and unpublishes its outputs. Idempotent. */
  close(): Promise<void>;
}

/** An API answer other than 2xx, with the status that fits (400 bad spec, 404, 409, 422, 429). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Restart delays: doubling from 500 ms to 10 s while a process keeps dying young. */
export class Backoff {
  private next = 500;

  constructor(private readonly first = 500, private readonly max = 10_000) {
    this.next = first;
  }

  take(): number {
    const d = this.next;
    this.next = Math.min(this.max, this.next * 2);
    return d;
  }

  reset(): void {
    this.next = this.first;
  }
}
