/*
 * Sockets to end, a bounded number per turn of the event loop. Cutting a thousand viewers at
 * once (they all stalled on the same frame, or a stream with a crowd ended) would otherwise
 * destroy a thousand sockets in one synchronous run, each with its close events and logging,
 * while /healthz, the publisher's socket and the other viewers wait.
 */

/** Sockets ended per turn: well under a millisecond of work each, so a turn stays short under load. */
const PER_TURN = 16;

const queue: Array<() => void> = [];
let head = 0;
let scheduled = false;

/** Runs `end` (a destroy or terminate) on a later turn, after those queued before it. */
export function endSoon(end: () => void): void {
  queue.push(end);
  if (scheduled) return;
  scheduled = true;
  setImmediate(run);
}

function run(): void {
  const stop = Math.min(queue.length, head + PER_TURN);
  for (; head < stop; head++) {
    const end = queue[head]!;
    queue[head] = noop;
    try {
      end();
    } catch {
      /* a socket that fails to close is already gone */
    }
  }
  if (head < queue.length) return void setImmediate(run);
  queue.length = 0;
  head = 0;
  scheduled = false;
}

function noop(): void {}
