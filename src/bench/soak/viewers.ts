/**
 * The soak's viewers, one class per protocol, each counting what it gets in a ViewerAccount:
 * HTTP-FLV and WS-FLV through the project's FLV demuxer, RTMP play, and transport play
 * (`tributary play`'s Player). Behaviour: `legit` reads everything as it comes; `slow` reads in
 * short bursts a few seconds apart (it falls behind and should be skipped, then cut); `dead`
 * never reads (the server must cut it without the rest noticing).
 */
import { request, type ClientRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { FlvDemuxer } from '../../media/flv/FlvDemuxer.js';
import { parseAudioTag } from '../../media/flv/audioTagBody.js';
import { parseVideoTag } from '../../media/flv/videoTagBody.js';
import type { DemuxOutput } from '../../media/frame.js';
import { Player } from '../../client/play/Player.js';
import { RtmpPushClient } from '../../server/rtmp/RtmpPushClient.js';
import { MessageType } from '../../server/rtmp/messages.js';
import { frameId } from '../fanout/stream.js';
import { ViewerAccount, type Carrier, type SentLedger } from './ledger.js';

export type Protocol = 'flv' | 'ws' | 'rtmp' | 'transport';
export type Behaviour = 'legit' | 'slow' | 'dead';

export interface ViewerTarget {
  host: string;
  httpPort: number;
  rtmpPort: number;
  transportPort: number;
  app: string;
  key: string;
  /** The viewer's own loopback address (servers cap connections per address, as they should). */
  localAddress: string;
}

export interface SoakViewer {
  readonly protocol: Protocol;
  readonly behaviour: Behaviour;
  readonly account: ViewerAccount;
  /** Set when the connection ended: by us (close), by the server, or an error. */
  ended: string | undefined;
  close(): void;
}

const SLOW_PAUSE_MS = 4000;
const SLOW_READ_MS = 150;

export function openViewer(protocol: Protocol, behaviour: Behaviour, t: ViewerTarget, ledger: SentLedger): SoakViewer {
  if (behaviour !== 'legit' && protocol === 'ws') return new RawWsViewer(behaviour, t, ledger);
  switch (protocol) {
    case 'flv': return new FlvHttpViewer(behaviour, t, ledger);
    case 'ws': return new WsViewer(t, ledger);
    case 'rtmp': return new RtmpViewer(t, ledger);
    case 'transport': return new TransportViewer(t, ledger);
  }
}

function countFrames(account: ViewerAccount, out: DemuxOutput[]): void {
  for (const o of out) {
    if (o.type !== 'frame' || o.frame.kind === 'data') continue;
    const id = frameId(o.frame);
    if (id !== undefined) account.onFrame(id);
  }
}

/** Reading in bursts: paused most of the time, then a short read (slow), or never (dead). */
function throttle(socket: Socket, behaviour: Behaviour): () => void {
  if (behaviour === 'legit') return () => undefined;
  socket.pause();
  if (behaviour === 'dead') return () => undefined;
  let reading = false;
  const timer = setInterval(() => {
    reading = !reading;
    if (reading) socket.resume();
    else socket.pause();
  }, SLOW_PAUSE_MS);
  const burst = setInterval(() => socket.pause(), SLOW_PAUSE_MS + SLOW_READ_MS);
  return () => {
    clearInterval(timer);
    clearInterval(burst);
  };
}

class FlvHttpViewer implements SoakViewer {
  readonly protocol = 'flv';
  readonly account: ViewerAccount;
  ended: string | undefined;
  private readonly req: ClientRequest;
  private readonly demuxer = new FlvDemuxer();
  private stopThrottle = (): void => undefined;

  constructor(readonly behaviour: Behaviour, t: ViewerTarget, ledger: SentLedger) {
    this.account = new ViewerAccount(ledger);
    this.req = request({ host: t.host, port: t.httpPort, path: `/${t.app}/${t.key}.flv`, agent: false, localAddress: t.localAddress }, (res) => {
      if (res.statusCode !== 200) {
        this.end(`http_${res.statusCode}`);
        res.resume();
        return;
      }
      this.stopThrottle = throttle(res.socket, behaviour);
      res.on('data', (chunk: Buffer) => {
        if (behaviour !== 'legit') return;
        try {
          countFrames(this.account, this.demuxer.push(chunk));
        } catch {
          this.end('flv_parse_error');
          this.req.destroy();
        }
      });
      res.on('end', () => this.end('server_closed'));
      res.on('error', () => this.end('server_closed'));
    });
    this.req.on('error', (e) => this.end((e as NodeJS.ErrnoException).code ?? 'error'));
    this.req.on('close', () => this.end('server_closed'));
    this.req.end();
  }

  private end(why: string): void {
    this.ended ??= why;
    this.stopThrottle();
  }

  close(): void {
    this.end('closed');
    this.req.destroy();
  }
}

class WsViewer implements SoakViewer {
  readonly protocol = 'ws';
  readonly behaviour = 'legit';
  readonly account: ViewerAccount;
  ended: string | undefined;
  private readonly ws: WebSocket;
  private readonly demuxer = new FlvDemuxer();

  constructor(t: ViewerTarget, ledger: SentLedger) {
    this.account = new ViewerAccount(ledger);
    this.ws = new WebSocket(`ws://${t.host}:${t.httpPort}/${t.app}/${t.key}.flv`, { perMessageDeflate: false, localAddress: t.localAddress });
    this.ws.on('message', (data: Buffer) => {
      try {
        countFrames(this.account, this.demuxer.push(data));
      } catch {
        this.ended ??= 'flv_parse_error';
        this.ws.terminate();
      }
    });
    this.ws.on('close', () => (this.ended ??= 'server_closed'));
    this.ws.on('error', (e) => (this.ended ??= (e as NodeJS.ErrnoException).code ?? 'error'));
  }

  close(): void {
    this.ended ??= 'closed';
    this.ws.terminate();
  }
}

/** A WebSocket upgrade by hand, so the viewer can stop reading its socket (slow, dead). */
class RawWsViewer implements SoakViewer {
  readonly protocol = 'ws';
  readonly account: ViewerAccount;
  ended: string | undefined;
  private readonly socket: Socket;
  private stopThrottle = (): void => undefined;

  constructor(readonly behaviour: Behaviour, t: ViewerTarget, ledger: SentLedger) {
    this.account = new ViewerAccount(ledger);
    this.socket = connect({ port: t.httpPort, host: t.host, localAddress: t.localAddress }, () => {
      this.socket.write(
        `GET /${t.app}/${t.key}.flv HTTP/1.1\r\nHost: ${t.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      this.stopThrottle = throttle(this.socket, behaviour);
    });
    this.socket.on('data', () => undefined);
    this.socket.on('close', () => this.end('server_closed'));
    this.socket.on('error', (e) => this.end((e as NodeJS.ErrnoException).code ?? 'error'));
  }

  private end(why: string): void {
    this.ended ??= why;
    this.stopThrottle();
  }

  close(): void {
    this.end('closed');
    this.socket.destroy();
  }
}

class RtmpViewer implements SoakViewer {
  readonly protocol = 'rtmp';
  readonly behaviour = 'legit';
  readonly account: ViewerAccount;
  ended: string | undefined;
  private client: RtmpPushClient | undefined;
  private closing = false;

  constructor(t: ViewerTarget, ledger: SentLedger) {
    this.account = new ViewerAccount(ledger);
    RtmpPushClient.play(`rtmp://${t.host}:${t.rtmpPort}/${t.app}/${t.key}`, (m) => {
      try {
        if (m.type === MessageType.Video) countFrames(this.account, parseVideoTag(m.payload, m.timestamp));
        else if (m.type === MessageType.Audio) countFrames(this.account, parseAudioTag(m.payload, m.timestamp));
      } catch {
        this.ended ??= 'rtmp_parse_error';
      }
    }, 5000, t.localAddress)
      .then((c) => {
        this.client = c;
        if (this.closing) c.close();
        void c.closed.then(() => (this.ended ??= 'server_closed'));
      })
      .catch(() => (this.ended ??= 'rtmp_refused'));
  }

  close(): void {
    this.closing = true;
    this.ended ??= 'closed';
    this.client?.close();
  }
}

/**
 * `tributary play` as a viewer. Each frame is counted with the message that carried it, so the
 * account can tell frames the server's transport gave up under its deadline rules (gaps in
 * the message ids) from frames lost (ViewerAccount.givenUp).
 */
export class TransportViewer implements SoakViewer {
  readonly protocol = 'transport';
  readonly behaviour = 'legit';
  readonly account: ViewerAccount;
  ended: string | undefined;
  private player: Player | undefined;
  private closing = false;
  /** The message being handed to the player now (its frame, if any, is counted under it). */
  private carrier: Carrier | undefined;

  constructor(t: ViewerTarget, ledger: SentLedger, latencyMs?: number) {
    this.account = new ViewerAccount(ledger);
    Player.start(`tributary://${t.host}:${t.transportPort}/${t.app}/${t.key}`, {
      format: 'flv',
      links: [t.localAddress],
      latencyMs,
      write: () => true,
      onFrame: (frame) => {
        if (frame.kind === 'data') return;
        const id = frameId(frame);
        if (id !== undefined) this.account.onFrame(id, this.carrier);
      },
    })
      .then((p) => {
        this.player = p;
        // Ahead of the player's own listener: the player writes the frame synchronously, in the same emit.
        p.session.prependListener('message', (m) => (this.carrier = { streamId: m.streamId, messageId: m.messageId }));
        if (this.closing) void p.close();
        void p.ended.then(() => (this.ended ??= this.closing ? 'closed' : 'server_closed'));
      })
      .catch(() => (this.ended ??= 'transport_refused'));
  }

  close(): void {
    this.closing = true;
    this.ended ??= 'closed';
    void this.player?.close().catch(() => undefined);
  }
}
