/**
 * Trust on first use for server keys, as ssh does: a file of "host:port fingerprint" lines.
 * A server seen for the first time is recorded (and the caller warns); one whose key differs
 * from the recorded fingerprint is refused, since that is what a man in the middle looks like
 * (or a server whose key was replaced: then its line must be removed by hand).
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dataDir } from './serverKey.js';

export function defaultKnownHostsFile(): string {
  return join(dataDir(), 'known_hosts');
}

export type TrustResult = { kind: 'known' } | { kind: 'new' } | { kind: 'mismatch'; expected: string };

export class KnownHosts {
  constructor(readonly file = defaultKnownHostsFile()) {}

  private read(): Map<string, string> {
    const out = new Map<string, string>();
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const line of text.split('\n')) {
      const m = /^(\S+) ([A-Za-z0-9_-]{43})\s*$/.exec(line);
      if (m) out.set(m[1]!, m[2]!);
    }
    return out;
  }

  /** Checks `fp` for `hostPort`; records it when the host is new. */
  check(hostPort: string, fp: string): TrustResult {
    const known = this.read().get(hostPort);
    if (known === fp) return { kind: 'known' };
    if (known !== undefined) return { kind: 'mismatch', expected: known };
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    appendFileSync(this.file, `${hostPort} ${fp}\n`, { mode: 0o600 });
    return { kind: 'new' };
  }
}
