import { EventEmitter } from 'node:events';

/**
 * A typed EventEmitter whose `safeEmit` survives a throwing listener (mediasoup's pattern):
 * one broken observer must not take down the stream it observes.
 */
export class EnhancedEmitter<E extends Record<string, unknown[]>> extends EventEmitter {
  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    try {
      return super.emit(event, ...args);
    } catch (err) {
      try {
        super.emit('listenererror', event, err);
      } catch {
        /* nothing more to do */
      }
      return true;
    }
  }

  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }
}
