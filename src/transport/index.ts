/**
 * The transport core's public API (sans-IO; see api.ts for the Session contract).
 *
 *   import { createClientSession, Endpoint, SeededRandom } from './transport/index.js';
 *
 *   // client: one session; the shell feeds it datagrams and time
 *   const c = createClientSession({ now, psk: 'publish-token', identity: 'live/mykey',
 *                                   encryption: 'all', path: 'wifi' });
 *   // server: one endpoint per socket; new sessions come out of endpoint.pollEvent()
 *   const ep = new Endpoint({ now, resolvePsk: (identity) => tokens.get(identity) });
 *
 *   Driving either (the same four calls, `now` in ms on any monotonic clock):
 *     x.handleDatagram(now, path, bytes)  // path: the shell's key for a socket / remote address
 *     x.handleTimeout(now)                // when now >= x.pollTimeout()
 *     x.pollTransmit(now)                 // repeat until undefined; send each {path, data}
 *     x.pollTimeout()                     // next wake-up (absolute), undefined = none
 *   Application side of a Session: openStream, send(now, streamId, data, {deadline, keyframe,
 *   reference, timestamp}), pollEvent() for 'connected' | 'stream-opened' | 'message' |
 *   'message-dropped' | 'keyframe-wanted' | 'path-up' | 'path-down' | 'closed', stats(), addPath
 *   (client), close.
 *
 * Options (ClientOptions / EndpointOptions in options.ts): psk (token or server key),
 * identity, encryption 'none' | 'headers' | 'all', initialMtu / maxMtu, keepaliveMs,
 * idleTimeoutMs, random (SeededRandom for repeatable runs), congestion / fecPolicy
 * (pluggable algorithms), bond (single | aggregate | redundant | auto), fec on/off,
 * initialBitrateBps, reorderDelayMs.
 */
import { Session } from './Session.js';
import { CryptoRandom } from './Random.js';
import { pskBytes, type ClientOptions } from './options.js';

export function createClientSession(opts: ClientOptions): Session {
  const random = opts.random ?? new CryptoRandom();
  const hi = BigInt(random.u32());
  const lo = BigInt(random.u32());
  return new Session({
    ...opts,
    random,
    role: 'client',
    sessionId: (hi << 32n) | lo,
    path: opts.path ?? 'default',
    psk: pskBytes(opts.psk),
    identity: new TextEncoder().encode(opts.identity ?? '').subarray(0, 255),
  });
}

export { Session } from './Session.js';
export { Endpoint, type EndpointEvent } from './Endpoint.js';
export { SeededRandom, CryptoRandom, type Random } from './Random.js';
export type { ClientOptions, EndpointOptions, CommonOptions } from './options.js';
export type { SendAlgorithm, AckSample } from './cc/SendAlgorithm.js';
export { DelayLossController } from './cc/DelayLossController.js';
export type { FecPolicy, FecClass } from './FecPolicy.js';
export { BinomialFecPolicy } from './FecPolicy.js';
export { BOND_MODES, type BondMode } from './Bonding.js';
export { Path } from './Path.js';
export * from './api.js';
