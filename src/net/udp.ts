/** Small helpers shared by the shells: binding UDP sockets, path keys, a default logger. */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { once } from 'node:events';
import { pino } from 'pino';

/** The part of a pino logger the shells use. */
export interface NetLogger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export function defaultLogger(): NetLogger {
  return pino({ level: 'warn', base: { component: 'net' } }, pino.destination(2));
}

export async function bindUdp(family: 4 | 6, port: number, address?: string, recvBufferBytes?: number): Promise<Socket> {
  const s = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: false });
  const failed = once(s, 'error').then(([e]) => Promise.reject(e as Error));
  s.bind(port, address);
  await Promise.race([once(s, 'listening'), failed]);
  failed.catch(() => {});
  if (recvBufferBytes) growRecvBuffer(s, recvBufferBytes);
  return s;
}

/** What a server socket asks the kernel for: a burst of 1200-byte hellos the default (~200 KiB) drops beyond ~90 of. */
export const SERVER_RECV_BUFFER = 8 * 1024 * 1024;

/**
 * Asks for a receive buffer of `bytes`, halving down to the default if the kernel refuses.
 * Linux caps the request at net.core.rmem_max without an error (it then reports twice the
 * cap); other systems throw above their limit. Returns the size the socket reports.
 */
export function growRecvBuffer(s: Socket, bytes: number): number {
  for (let want = bytes; want >= 256 * 1024; want = Math.floor(want / 2)) {
    try {
      s.setRecvBufferSize(want);
      break;
    } catch {
      // too large for this kernel: try half
    }
  }
  try {
    return s.getRecvBufferSize();
  } catch {
    return 0;
  }
}

/** "ip:port" (IPv6 without brackets: the port is after the last colon). */
export function peerKey(address: string, port: number): string {
  return `${address}:${port}`;
}

export function parsePeerKey(key: string): { address: string; port: number } | undefined {
  const i = key.lastIndexOf(':');
  if (i <= 0) return undefined;
  const port = Number(key.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { address: key.slice(0, i), port };
}

export function familyOf(address: string): 4 | 6 {
  return isIPv6(address) ? 6 : 4;
}

/**
 * A link given as an IP address is bound as is; a link given as an interface name binds to
 * that interface's first address of the wanted family.
 */
export function linkAddress(link: string, family: 4 | 6): string {
  if (/^[0-9.]+$/.test(link) || link.includes(':')) return link;
  const addrs = networkInterfaces()[link];
  const a = addrs?.find((x) => (family === 6 ? x.family === 'IPv6' : x.family === 'IPv4'));
  if (!a) throw new Error(`link ${link}: no such interface with an IPv${family} address`);
  return a.address;
}
