/**
 * One server-wide budget for memory that peers make the server hold before they have proved
 * anything: unfinished RTMP messages, connection state, WebSocket frames being read. Every
 * holder takes an account (`open(key)`) and asks before it allocates (`grow(n)`); a refused
 * grow means the holder must not allocate and should close the connection. Accounts are also
 * capped per key (the peer address), so one address cannot take the whole budget and starve
 * everyone else.
 *
 * Plain counters, no I/O: the caller decides what a refusal does and where it is logged.
 */
export interface MemoryBudgetLimits {
  /** Bytes all accounts together may hold. Default 512 MiB. */
  totalBytes: number;
  /** Bytes the accounts of one key (peer address) may hold together. Default 128 MiB. */
  perKeyBytes: number;
}

export const DEFAULT_BUDGET_LIMITS: MemoryBudgetLimits = { totalBytes: 512 << 20, perKeyBytes: 128 << 20 };

export class MemoryBudget {
  /** Bytes held by every open account. */
  used = 0;
  /** The highest `used` seen. */
  peak = 0;
  /** Grow requests refused, by which limit refused them. */
  readonly refused = { total: 0, perKey: 0 };
  private readonly byKey = new Map<string, number>();

  constructor(readonly limits: MemoryBudgetLimits = DEFAULT_BUDGET_LIMITS) {}

  /**
   * A new account charged to `key` (an address); close it when its holder goes away. `shared`
   * false: the key's share does not apply (an exempt address such as a reverse proxy's, which
   * stands for many peers); the total still does.
   */
  open(key: string, shared = true): BudgetAccount {
    return new BudgetAccount(this, shared ? key : undefined);
  }

  /** Bytes held under `key` now. */
  heldBy(key: string): number {
    return this.byKey.get(key) ?? 0;
  }

  /** @internal Used by BudgetAccount; `key` undefined: no share applies. */
  take(key: string | undefined, n: number): boolean {
    const mine = key === undefined ? 0 : (this.byKey.get(key) ?? 0);
    if (this.used + n > this.limits.totalBytes) {
      this.refused.total++;
      return false;
    }
    if (key !== undefined && mine + n > this.limits.perKeyBytes) {
      this.refused.perKey++;
      return false;
    }
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    if (key !== undefined) this.byKey.set(key, mine + n);
    return true;
  }

  /** @internal Used by BudgetAccount. */
  give(key: string | undefined, n: number): void {
    this.used -= n;
    if (key === undefined) return;
    const left = (this.byKey.get(key) ?? 0) - n;
    if (left > 0) this.byKey.set(key, left);
    else this.byKey.delete(key);
  }
}

/** What one holder has taken from a MemoryBudget. `close()` gives it all back (idempotent). */
export class BudgetAccount {
  held = 0;
  private closed = false;

  /** Closed accounts take nothing more. */
  get isClosed(): boolean {
    return this.closed;
  }

  constructor(
    private readonly budget: MemoryBudget,
    /** The key whose share this account draws on; undefined: none. */
    readonly key: string | undefined,
  ) {}

  /** Takes `n` more bytes; false (and nothing taken) when the budget or the key's share is spent. */
  grow(n: number): boolean {
    if (this.closed || n < 0) return false;
    if (n === 0) return true;
    if (!this.budget.take(this.key, n)) return false;
    this.held += n;
    return true;
  }

  /** Gives back `n` bytes (at most what is held). */
  shrink(n: number): void {
    const give = Math.min(n, this.held);
    if (give <= 0) return;
    this.held -= give;
    this.budget.give(this.key, give);
  }

  close(): void {
    if (this.closed) return;
    this.shrink(this.held);
    this.closed = true;
  }
}
