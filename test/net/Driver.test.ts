// Tests of the driver loop only, with a tiny deterministic SansIo written here (an echo with a
// paced sender and a timer). The real core is exercised in Transport.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import type { Datagram, SansIo } from '../../src/transport/api.js';
import { Driver } from '../../src/net/Driver.js';

/** Echoes every datagram back on its path, one per `gapMs` (paced), and ticks every `tickMs`. */
class Echo implements SansIo {
  queue: Datagram[] = [];
  nextSend = 0;
  ticks = 0;
  nextTick: number;
  constructor(now: number, readonly gapMs: number, readonly tickMs: number) {
    this.nextTick = now + tickMs;
  }
  handleDatagram(_now: number, path: string, data: Uint8Array): void {
    if (data[0] === 0xff) throw new Error('hostile byte');
    this.queue.push({ path, data: Uint8Array.from(data) });
  }
  handleTimeout(now: number): void {
    if (now >= this.nextTick) {
      this.ticks++;
      this.nextTick = now + this.tickMs;
    }
  }
  pollTransmit(now: number): Datagram | undefined {
    if (this.queue.length === 0 || now < this.nextSend) return undefined;
    this.nextSend = now + this.gapMs;
    return this.queue.shift();
  }
  pollTimeout(): number | undefined {
    return this.queue.length ? Math.min(this.nextSend, this.nextTick) : this.nextTick;
  }
}

test('driver echoes datagrams over a real UDP socket, paced, with one timer', async () => {
  const sock = createSocket('udp4');
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  const peer = createSocket('udp4');
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  const echo = new Echo(performance.now(), 5, 20);
  const driver = new Driver({
    machine: echo,
    transmit: (d) => {
      const [host, port] = d.path.split(':');
      sock.send(d.data, Number(port), host);
    },
  });
  sock.on('message', (m, r) => driver.input(`${r.address}:${r.port}`, m));
  driver.kick();
  const got: number[] = [];
  const times: number[] = [];
  const all = new Promise<void>((resolve) =>
    peer.on('message', (m) => {
      got.push(m[0]!);
      times.push(performance.now());
      if (got.length === 10) resolve();
    }),
  );
  for (let i = 0; i < 10; i++) peer.send(Uint8Array.of(i), sock.address().port, '127.0.0.1');
  await all;
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Pacing: 10 datagrams 5 ms apart take at least 40 ms; the driver woke for each one.
  assert.ok(times[9]! - times[0]! >= 40, `paced span ${times[9]! - times[0]!} ms`);
  assert.ok(echo.ticks >= 1, 'the timer ran handleTimeout');
  assert.ok(driver.armed, 'a timer is pending while the machine wants one');
  driver.close();
  assert.equal(driver.armed, false);
  sock.close();
  peer.close();
});

test('driver survives a machine that throws and keeps running', () => {
  const echo = new Echo(performance.now(), 0, 1000);
  const sent: Datagram[] = [];
  let reported = 0;
  const driver = new Driver({ machine: echo, transmit: (d) => sent.push(d), onError: () => reported++ });
  for (let i = 0; i < 1000; i++) driver.input('p', Uint8Array.of(0xff, i & 0xff));
  driver.input('p', Uint8Array.of(1));
  assert.equal(driver.errors, 1000);
  assert.equal(reported, 1, 'errors are reported once, then counted');
  assert.equal(sent.length, 1);
  driver.close();
  driver.input('p', Uint8Array.of(2));
  assert.equal(sent.length, 1, 'input after close is ignored');
});

test('driver keeps a single timer however often it is kicked', () => {
  let armed = 0;
  const realSet = globalThis.setTimeout;
  const echo = new Echo(0, 0, 50);
  let now = 0;
  const driver = new Driver({ machine: echo, transmit: () => {}, clock: () => now });
  globalThis.setTimeout = ((fn: () => void, ms: number) => {
    armed++;
    return realSet(fn, ms);
  }) as typeof setTimeout;
  try {
    for (let i = 0; i < 100; i++) driver.kick();
    globalThis.setTimeout = realSet;
    assert.equal(armed, 1, 'one timer for the wake-up; later kicks with the same wake-up re-use it');
    now = 60;
    driver.kick();
    assert.equal(echo.ticks, 1);
  } finally {
    globalThis.setTimeout = realSet;
    driver.close();
  }
});

test('kickSoon: however many asks in one turn, one step at its end, and what was queued leaves then', async () => {
  const echo = new Echo(performance.now(), 0, 60_000);
  let steps = 0;
  const sent: Datagram[] = [];
  const d = new Driver({ machine: echo, transmit: (x) => sent.push(x), afterStep: () => steps++ });
  for (let i = 0; i < 50; i++) {
    echo.queue.push({ path: 'p', data: new Uint8Array([i]) });
    d.kickSoon();
  }
  assert.equal(steps, 0, 'nothing before the turn ends');
  await Promise.resolve();
  assert.equal(steps, 1);
  assert.equal(sent.length, 50);
  d.kickSoon();
  d.close();
  await Promise.resolve();
  assert.equal(steps, 1, 'a closed driver does not step');
});
