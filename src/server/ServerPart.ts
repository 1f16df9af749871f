import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerAddresses } from './Server.js';

/**
 * Something built on top of a Server (processing, recording, a cluster membership: the
 * folders above src/server/) that starts and closes with it. The server knows nothing else of
 * a part, so those folders import the server and never the other way round; the composition
 * root (src/node/createNode.ts) makes the parts and hands them to `Server.use`. A part reaches
 * into the server through its public members (registry, http mounts, metrics, logger).
 */
export interface ServerPart {
  /** For logs and errors. */
  readonly name: string;
  /** Once every listener is bound, in the order the parts were added. A throw fails `start()`. */
  start?(addresses: ServerAddresses): void | Promise<void>;
  /**
   * First thing in `close()`, in the reverse order: stop making new work (jobs, relays) while
   * the streams are still there.
   */
  stop?(): void | Promise<void>;
  /** After every stream has ended (the registry closed): finish what they left (recordings). */
  close?(): void | Promise<void>;
  /**
   * An LL-HLS path, tried before the server's own HLS service: true when the part answered it
   * (processing's multivariant playlist for a ladder).
   */
  serveHls?(req: IncomingMessage, res: ServerResponse, app: string, key: string, file: string): boolean;
}
