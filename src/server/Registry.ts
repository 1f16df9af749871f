import { App, DEFAULT_APP_OPTIONS, type AppOptions } from './App.js';
import type { Stream } from './Stream.js';
import { EnhancedEmitter } from '../util/EnhancedEmitter.js';

/** Stream names are URL path parts: keep them to a safe alphabet and a sane length. */
const NAME = /^[A-Za-z0-9_.\-~]{1,128}$/;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Server > App > Stream: the object model every protocol handler (RTMP, HTTP-FLV, LL-HLS,
 * the transport) shares. One per process.
 */
export class Registry extends EnhancedEmitter<{ stream: [Stream] }> {
  readonly apps = new Map<string, App>();

  /** 'stream': a stream was made (the cluster layer follows its publishers and viewers). */
  /** `appOptions`: the same for every app, or per app name (config `apps.NAME.backup`). */
  constructor(private readonly appOptions: AppOptions | ((app: string) => AppOptions) = DEFAULT_APP_OPTIONS) {
    super();
  }

  app(name: string): App {
    let a = this.apps.get(name);
    if (!a) {
      a = new App(name, typeof this.appOptions === 'function' ? this.appOptions(name) : this.appOptions, (s) => this.safeEmit('stream', s));
      this.apps.set(name, a);
    }
    return a;
  }

  /** Looks up a stream without creating it. */
  find(app: string, key: string): Stream | undefined {
    return this.apps.get(app)?.streams.get(key);
  }

  *streams(): Iterable<Stream> {
    for (const a of this.apps.values()) yield* a.streams.values();
  }

  close(): void {
    for (const a of this.apps.values()) a.close();
  }
}
