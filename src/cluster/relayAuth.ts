/**
 * How a relay session proves it comes from a cluster node. Its handshake identity names the
 * stream and the asking node (`relay APP/KEY NODE`); its pre-shared key is an HMAC of that
 * identity under the cluster secret, so only a holder of the secret completes the handshake
 * (the transport refuses the rest and counts them: dropped['bad-key']), and the secret never
 * travels. The session is encrypted ('all') like any other.
 */
import { createHmac } from 'node:crypto';

const IDENTITY = /^relay ([A-Za-z0-9_.\-~]{1,128})\/([A-Za-z0-9_.\-~]{1,128}) ([A-Za-z0-9_.\-~]{1,128})( backup)?$/;

/** `backup`: the serving node's own backup publisher of the stream (Stream.subscribeBackup), not its stream. */
export function relayIdentity(app: string, key: string, node: string, backup = false): string {
  return `relay ${app}/${key} ${node}${backup ? ' backup' : ''}`;
}

export function parseRelayIdentity(identity: string): { app: string; key: string; node: string; backup?: true } | undefined {
  const m = IDENTITY.exec(identity);
  if (!m || [m[1], m[2], m[3]].some((p) => p === '.' || p === '..')) return undefined;
  return { app: m[1]!, key: m[2]!, node: m[3]!, ...(m[4] !== undefined ? { backup: true as const } : {}) };
}

const MUX_IDENTITY = /^relay-mux ([A-Za-z0-9_.\-~]{1,128})$/;

/**
 * The identity of the one session a node keeps to each node it relays from (many streams on it,
 * channels of media/tributary/channel.ts); its key is relayPsk of it, as for the per-stream one.
 */
export function relayMuxIdentity(node: string): string {
  return `relay-mux ${node}`;
}

export function parseRelayMuxIdentity(identity: string): { node: string } | undefined {
  const m = MUX_IDENTITY.exec(identity);
  return m && m[1] !== '.' && m[1] !== '..' ? { node: m[1]! } : undefined;
}

export function relayPsk(secret: string, identity: string): string {
  return createHmac('sha256', secret).update(`tributary relay v1\n${identity}`).digest('base64url');
}

/** The welcome a relay gets names the owner's fencing token: `relaying APP/KEY token=N`. */
export function tokenOfWelcome(note: string): number | undefined {
  const m = /\btoken=(\d{1,15})$/.exec(note);
  return m ? Number(m[1]) : undefined;
}
