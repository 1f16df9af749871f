/**
 * An erasure code over one block of equal-length packets. Indices 0..k-1 are the sources,
 * k..n-1 the repairs. The caller pads every source to the same length before `encode` and
 * keeps the true lengths itself (the wire format carries them).
 *
 * A code is stateless and shared: the transport picks one per block by name, so a new code
 * (e.g. a fountain code) drops in behind this interface without touching the transport.
 */
export interface FecCode {
  readonly name: string;
  /** Largest repairCount this code can produce for a block of k sources. */
  maxRepair(k: number): number;
  /** Returns `repairCount` repair packets. Throws FecError on bad arguments (caller bug). */
  encode(sources: Uint8Array[], repairCount: number): Uint8Array[];
  /**
   * Recovers the k sources from any packets received (index -> bytes), or undefined when
   * they are not enough or are inconsistent (wrong lengths, indices out of range). Never throws:
   * its input comes off the network.
   */
  decode(received: Map<number, Uint8Array>, k: number, n: number): Uint8Array[] | undefined;
}

export class FecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FecError';
  }
}

/** Checks encode's input; returns the common packet length. */
export function checkSources(sources: Uint8Array[], repairCount: number, maxRepair: number): number {
  if (sources.length === 0) throw new FecError('no source packets');
  if (!Number.isInteger(repairCount) || repairCount < 0) throw new FecError(`bad repair count ${repairCount}`);
  if (repairCount > maxRepair) throw new FecError(`repair count ${repairCount} over ${maxRepair}`);
  const len = sources[0]!.length;
  for (const s of sources) {
    if (s.length !== len) throw new FecError('source packets differ in length');
  }
  return len;
}

/**
 * Checks decode's input; returns the common length, or -1 if the set is unusable.
 * Extra packets beyond what is needed are fine.
 */
export function checkReceived(received: Map<number, Uint8Array>, k: number, n: number, maxN: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > maxN) return -1;
  if (received.size < k) return -1;
  let len = -1;
  for (const [i, p] of received) {
    if (!Number.isInteger(i) || i < 0 || i >= n) return -1;
    if (!(p instanceof Uint8Array)) return -1;
    if (len === -1) len = p.length;
    else if (p.length !== len) return -1;
  }
  return len;
}
