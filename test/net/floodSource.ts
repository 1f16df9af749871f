/**
 * Not a test: the flooding source for handshakeFlood.test.ts, run as its own process.
 *   node --import tsx floodSource.ts LOCAL_IP SERVER_IP SERVER_PORT SOCKETS
 * From SOCKETS ports on LOCAL_IP, sends CLIENT HELLOs for an open identity as fast as the
 * event loop allows, repeats each with the cookie of its RETRY (so the server keeps state),
 * and ignores the SERVER HELLO (never FINISHED). Stops when stdin closes and prints its counts.
 * One key pair serves every hello: the server's cost per hello is the same, the flood's is not.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { CryptoRandom } from '../../src/transport/Random.js';
import { Reader, Writer } from '../../src/wire/buf.js';
import { MIN_INITIAL_SIZE, encodeClientHello, type ClientHello } from '../../src/wire/clientHello.js';
import { PacketType, SHORT_HEADER_LEN, VERSION, decodeHeader, encodeHeader } from '../../src/wire/header.js';
import { decodeRetry } from '../../src/wire/retry.js';
import { keyPairFromSeed } from '../../src/transport/crypto/keys.js';

const [localIp, serverIp, portArg, socketsArg] = process.argv.slice(2);
const port = Number(portArg);
const random = new CryptoRandom();
const publicKey = keyPairFromSeed(random.bytes(32)).publicKey;
const identity = new TextEncoder().encode('live/open');
const pending = new Map<bigint, ClientHello>();
let hellos = 0;
let serverHellos = 0;
let stopped = false;

function datagram(sid: bigint, h: ClientHello): Uint8Array {
  const buf = new Uint8Array(MIN_INITIAL_SIZE);
  const w = new Writer(buf);
  encodeHeader(w, { version: VERSION, type: PacketType.INITIAL, sessionId: sid, packetNumber: 0, clearLength: 0 });
  encodeClientHello(w, h);
  return buf;
}

function hello(s: Socket): void {
  const sid = (BigInt(random.u32()) << 32n) | BigInt(random.u32());
  const h: ClientHello = { mode: 2, publicKey, random: random.bytes(32), identity, cookie: new Uint8Array(0) };
  if (pending.size > 50_000) pending.clear();
  pending.set(sid, h);
  s.send(datagram(sid, h), port, serverIp);
  hellos++;
}

function onMessage(s: Socket, m: Buffer): void {
  if (m.length < SHORT_HEADER_LEN) return;
  const r = new Reader(new Uint8Array(m.buffer, m.byteOffset, m.length));
  const h = decodeHeader(r);
  const ch = pending.get(h.sessionId);
  if (!ch) return;
  if (h.type === PacketType.RETRY) {
    ch.cookie = decodeRetry(r).cookie.slice();
    s.send(datagram(h.sessionId, ch), port, serverIp);
  } else if (h.type === PacketType.SERVER_HELLO) {
    serverHellos++;
    pending.delete(h.sessionId);
  }
}

const sockets: Socket[] = [];
for (let i = 0; i < Number(socketsArg); i++) {
  const s = createSocket('udp4');
  s.bind(0, localIp);
  await once(s, 'listening');
  s.on('message', (m) => onMessage(s, m));
  sockets.push(s);
}
const tick = (): void => {
  if (stopped) return;
  for (const s of sockets) for (let i = 0; i < 16; i++) hello(s);
  setImmediate(tick);
};
process.stdout.write('flooding\n');
tick();
process.stdin.resume();
process.stdin.on('end', () => {
  stopped = true;
  for (const s of sockets) s.close();
  process.stdout.write(`${JSON.stringify({ hellos, serverHellos })}\n`);
});
