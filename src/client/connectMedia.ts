/**
 * Opens a media session to a Tributary server: transport handshake keyed by the stream token,
 * then hello -> welcome (or refuse). Used by `tributary send` (publish) and `tributary play`.
 */
import { decodeMessage, encodeHello, parseTributaryUrl, sessionIdentity, sessionPsk, tokenExpiry, type Role, type TributaryUrl } from '../media/tributary/index.js';
import { ConnectRefusedError, TransportClient, type ConnectOptions, type TransportSession } from '../net/index.js';
import { KnownHosts } from '../net/knownHosts.js';
import { fingerprint } from '../transport/crypto/keys.js';
import type { EncryptionMode } from '../transport/api.js';
import type { BondMode } from '../transport/Bonding.js';

export interface ConnectMediaOptions {
  encryption?: EncryptionMode;
  /** 'force' = TCP only (--tcp); default 'auto' (UDP, TCP when UDP is blocked). */
  tcp?: 'auto' | 'force' | 'never';
  links?: string[];
  /** How media uses several links (default 'single'; see transport/Bonding.ts). */
  bond?: BondMode;
  /** Where the congestion controller starts (default 1 Mbit/s): the encoder's bitrate when known. */
  initialBitrateBps?: number;
  /** Replaces the session's congestion controller (one per path); benches compare controllers with it. */
  congestion?: ConnectOptions['congestion'];
  connectTimeoutMs?: number;
  /** Wait this long for the server's welcome after the handshake (default 5000 ms). */
  welcomeTimeoutMs?: number;
  /**
   * A player's delivery deadline, ms (`tributary play --latency`): wins over the URL's
   * `latency=`; with neither, the hello asks nothing and the server's default applies.
   */
  latencyMs?: number;
  /** A player's rendition of a ladder (`tributary play --quality`): wins over the URL's `quality=`. */
  quality?: string;
  /**
   * Without `fp=` in the URL: a known-hosts file for trust on first use (a new server's key is
   * recorded and `warn` called; a changed key is refused). Default: none, any server key is taken.
   */
  knownHosts?: string;
  warn?: (message: string) => void;
}

/** The server-key check for a URL: its pinned fp, else trust on first use, else none. */
export function serverKeyCheck(url: TributaryUrl, o: Pick<ConnectMediaOptions, 'knownHosts' | 'warn'>): ((key: Uint8Array) => string | undefined) | undefined {
  const pinned = url.fp;
  if (pinned !== undefined) {
    return (key) => {
      const fp = fingerprint(key);
      return fp === pinned ? undefined : `the server's key (fp=${fp}) is not the one the URL pins (fp=${pinned}): a man in the middle, or the server's key was replaced`;
    };
  }
  if (o.knownHosts === undefined) return undefined;
  const known = new KnownHosts(o.knownHosts);
  const hostPort = `${url.host}:${url.port}`;
  return (key) => {
    const fp = fingerprint(key);
    const r = known.check(hostPort, fp);
    if (r.kind === 'mismatch') return `the server's key for ${hostPort} changed (fp=${fp}, ${known.file} has fp=${r.expected}): a man in the middle, or a new server key (then remove that line)`;
    if (r.kind === 'new') o.warn?.(`first connection to ${hostPort}: its key fp=${fp} is now trusted (recorded in ${known.file}; add ?fp=${fp} to the URL to pin it)`);
    return undefined;
  };
}

export class MediaRefusedError extends Error {
  constructor(readonly reason: string, local = false) {
    super(local ? `not sent: ${reason}` : `the server refused: ${reason}`);
    this.name = 'MediaRefusedError';
  }
}

export interface MediaConnection {
  url: TributaryUrl;
  client: TransportClient;
  session: TransportSession;
  welcome: string;
  /**
   * Attaches the message handler. Messages that came right behind the welcome (a player's
   * configs and first frames arrive in the same burst) are held until then and replayed first.
   */
  onMessage(handler: (data: Uint8Array) => void): void;
}

const quietLogger = { warn: () => {}, debug: () => {} };

export async function connectMedia(rawUrl: string | TributaryUrl, role: Role, o: ConnectMediaOptions = {}): Promise<MediaConnection> {
  const url = typeof rawUrl === 'string' ? parseTributaryUrl(rawUrl) : rawUrl;
  if (url.token !== undefined && tokenExpiry(url.token) * 1000 <= Date.now()) throw new MediaRefusedError('the token expired (mint a new one with `tributary token`)', true);
  const timeout = o.connectTimeoutMs ?? 10_000;
  let client: TransportClient;
  try {
    client = await TransportClient.connect({
      host: url.host,
      port: url.port,
      psk: sessionPsk(url.token),
      identity: sessionIdentity(role, url.app, url.key, url.token),
      encryption: o.encryption ?? 'all',
      checkServerKey: serverKeyCheck(url, o),
      tcp: o.tcp ?? 'auto',
      links: o.links,
      bond: o.bond,
      initialBitrateBps: o.initialBitrateBps,
      congestion: o.congestion,
      connectTimeoutMs: timeout,
      logger: quietLogger,
    });
  } catch (err) {
    if (err instanceof ConnectRefusedError) throw new MediaRefusedError(err.reason, true);
    const why = url.token === undefined ? 'the server is down or unreachable, or the stream needs a token' : 'the server is down or unreachable, or the token is not valid for this stream';
    throw new Error(`no session with ${url.host}:${url.port} within ${timeout} ms: ${why} (${(err as Error).message})`);
  }
  const session = client.session;
  const held: Uint8Array[] = [];
  const hold = (m: { data: Uint8Array }): void => void held.push(m.data);
  try {
    const welcome = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server accepted the session but did not answer the hello')), o.welcomeTimeoutMs ?? 5000);
      const done = (): void => {
        clearTimeout(timer);
        session.off('message', onMessage);
        session.off('closed', onClosed);
      };
      const onMessage = (m: { data: Uint8Array }): void => {
        let msg;
        try {
          msg = decodeMessage(m.data);
        } catch {
          return;
        }
        if (msg.type === 'welcome') {
          done();
          session.on('message', hold);
          resolve(msg.note);
        }
        else if (msg.type === 'refuse') (done(), reject(new MediaRefusedError(msg.reason)));
      };
      const onClosed = (reason: string): void => (done(), reject(new Error(`session closed before the welcome: ${reason}`)));
      session.on('message', onMessage);
      session.on('closed', onClosed);
      session.sendFrame({ kind: 'control', data: encodeHello(role, url.app, url.key, role === 'play' ? (o.latencyMs ?? url.latencyMs) : undefined, role === 'play' ? (o.quality ?? url.quality) : undefined) });
    });
    const onMessage = (handler: (data: Uint8Array) => void): void => {
      session.off('message', hold);
      for (const d of held.splice(0)) handler(d);
      session.on('message', (m) => handler(m.data));
    };
    return { url, client, session, welcome, onMessage };
  } catch (err) {
    await client.close();
    throw err;
  }
}
