import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { TurnBudget, TURN_BUDGET_BYTES } from '../../src/net/TurnBudget.js';

/*
 * A peer that writes megabytes at once gets at most the budget (plus the read already under
 * way) parsed per turn of the event loop; the rest waits for the next turns, and all of it
 * arrives. Without the budget libuv hands one socket up to 32 reads of 64 KiB a turn.
 */

async function perTurn(useBudget: boolean): Promise<{ max: number; total: number; yields: number }> {
  const SEND = 8 << 20;
  let max = 0;
  let total = 0;
  let inTurn = 0;
  let scheduled = false;
  let budget: TurnBudget | undefined;
  const done = new Promise<void>((resolve) => {
    const server = createServer((s: Socket) => {
      if (useBudget) budget = new TurnBudget(s);
      s.on('data', (b: Buffer) => {
        // Work proportional to the bytes, as a parser does.
        let x = 0;
        for (let i = 0; i < b.length; i += 64) x ^= b[i]!;
        if (x === 256) console.log('never');
        inTurn += b.length;
        total += b.length;
        max = Math.max(max, inTurn);
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            inTurn = 0;
          });
        }
        budget?.spend(b.length);
        if (total >= SEND) {
          s.destroy();
          server.close();
          resolve();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const c = connect(port, '127.0.0.1', () => c.write(Buffer.alloc(SEND, 7)));
      c.on('error', () => undefined);
    });
  });
  await done;
  return { max, total, yields: budget?.yields ?? 0 };
}

test('a socket that writes 8 MiB at once is parsed at most TURN_BUDGET_BYTES (plus one read) a turn, and every byte arrives', async () => {
  const r = await perTurn(true);
  assert.equal(r.total, 8 << 20);
  assert.ok(r.max <= TURN_BUDGET_BYTES + (64 << 10), `max ${r.max} bytes handled in one turn`);
  assert.ok(r.yields > 0);
});
