import type { ServerResponse } from 'node:http';

interface Held {
  ready: () => boolean;
  serve: () => void;
  res: ServerResponse;
  timer: NodeJS.Timeout;
  onClose: () => void;
}

/**
 * Requests waiting for media that does not exist yet (a blocking playlist reload, a preload
 * hint, a segment still being filled). Bounded: past `max` a new request is refused at once.
 * Each wait ends when its condition holds (`check` after every new part), at its timeout
 * (503, as the LL-HLS spec asks), when the client goes away, or when the stream stops.
 */
export class HeldRequests {
  private readonly held = new Set<Held>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.held.size;
  }

  /** False when full: the caller answers 503 itself. */
  hold(res: ServerResponse, ready: () => boolean, serve: () => void, timeoutMs: number): boolean {
    if (this.held.size >= this.max) return false;
    const h: Held = {
      ready, serve, res,
      timer: setTimeout(() => this.fail(h, 503, 'timed out waiting for the requested media'), timeoutMs),
      onClose: () => this.drop(h),
    };
    res.once('close', h.onClose);
    this.held.add(h);
    return true;
  }

  /** Serves every request whose media now exists. */
  check(): void {
    for (const h of this.held) {
      if (!h.ready()) continue;
      this.drop(h);
      try {
        h.serve();
      } catch {
        h.res.destroy(); // a broken socket must not stop the other waiters being served
      }
    }
  }

  /** Answers every held request with this status (the stream stopped). */
  failAll(status: number, message: string): void {
    for (const h of [...this.held]) this.fail(h, status, message);
  }

  private fail(h: Held, status: number, message: string): void {
    this.drop(h);
    if (h.res.headersSent || h.res.destroyed) return;
    // Access-Control-Allow-Origin was set on the response when it was taken (HlsService.handle).
    h.res.writeHead(status, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' });
    h.res.end(message + '\n');
  }

  private drop(h: Held): void {
    if (!this.held.delete(h)) return;
    clearTimeout(h.timer);
    h.res.off('close', h.onClose);
  }
}
