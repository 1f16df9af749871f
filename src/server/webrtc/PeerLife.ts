import type { RTCPeerConnection } from 'werift';

/** A session whose connection dropped comes back within this or is closed. */
const DISCONNECTED_GRACE_MS = 5000;

/**
 * The lifetime of one WebRTC session's peer connection: it must reach `connected` (ICE and
 * DTLS done) within `connectTimeoutMs` or it is reaped (an offerer that never does ICE must not
 * hold a port and a stack's state); `failed` or `closed` ends it; `disconnected` ends it unless
 * it recovers within 5 s. `close()` is idempotent and closes the peer connection.
 */
export class PeerLife {
  connected = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  onConnected: (() => void) | undefined;

  constructor(
    readonly pc: RTCPeerConnection,
    connectTimeoutMs: number,
    /** Called once, with why the session ends. */
    private readonly onEnd: (reason: string, reaped: boolean) => void,
  ) {
    this.arm(connectTimeoutMs, `ICE/DTLS did not complete within ${connectTimeoutMs} ms`, true);
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') {
        this.disarm();
        if (!this.connected) {
          this.connected = true;
          this.onConnected?.();
        }
      } else if (s === 'failed' || s === 'closed') this.close(`connection ${s}`);
      else if (s === 'disconnected' && this.connected) this.arm(DISCONNECTED_GRACE_MS, `disconnected for ${DISCONNECTED_GRACE_MS} ms`, false);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(reason: string, reaped = false): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    this.pc.close().catch(() => undefined);
    this.onEnd(reason, reaped);
  }

  private arm(ms: number, reason: string, reaped: boolean): void {
    this.disarm();
    this.timer = setTimeout(() => this.close(reason, reaped), ms);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
