import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { Registry } from '../Registry.js';
import type { Stream } from '../Stream.js';
import type { BackpressureLimits } from '../Subscriber.js';
import type { Logger } from '../log.js';
import { FlvSubscriber, type FlvSink } from './FlvSubscriber.js';

let nextId = 1;

export interface FlvViewerDeps {
  registry: Registry;
  logger: Logger;
  limits: BackpressureLimits & { stallCutMs: number };
  /** Called when a viewer leaves, so the metrics can count its last bytes. */
  onViewerClosed?: (sub: FlvSubscriber) => void;
}

/**
 * Attaches a viewer to a live stream and detaches it on every way out: the socket closes, the
 * publisher leaves (players reconnect to the next one, whose clock differs), the viewer is cut
 * as too slow, or the stream closes.
 */
function attach(deps: FlvViewerDeps, stream: Stream, sub: FlvSubscriber): void {
  const onUnpublish = () => sub.close('publisher left');
  stream.once('unpublish', onUnpublish);
  sub.onClosed = (reason) => {
    stream.off('unpublish', onUnpublish);
    stream.unsubscribe(sub);
    deps.registry.apps.get(stream.app)?.release(stream);
    deps.onViewerClosed?.(sub);
    deps.logger.info({ viewer: sub.id, protocol: sub.protocol, stream: stream.path, reason, skipped: sub.skippedFrames, bytes: sub.bytesSent }, 'viewer left');
  };
  deps.logger.info({ viewer: sub.id, protocol: sub.protocol, stream: stream.path, remote: sub.remoteAddress }, 'viewer joined');
  stream.subscribe(sub);
}

function remote(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
}

/** HTTP-FLV: a chunked response that stays open for the life of the stream. */
export function serveHttpFlv(deps: FlvViewerDeps, stream: Stream, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'video/x-flv',
    'Cache-Control': 'no-cache, no-store',
    Connection: 'close',
  });
  res.flushHeaders();
  // One frame per write: no Nagle delay between a frame and the viewer.
  res.socket?.setNoDelay(true);
  const sink: FlvSink = {
    write: (chunk) => void res.write(chunk),
    pending: () => res.writableLength,
    end: () => {
      // A cut viewer may have megabytes queued; destroy instead of flushing them.
      if (!res.destroyed) res.destroy();
    },
  };
  const sub = new FlvSubscriber(`http-flv-${nextId++}`, 'http-flv', remote(req), deps.limits, sink, deps.limits.stallCutMs);
  res.on('close', () => sub.close('viewer disconnected'));
  res.on('error', () => sub.close('socket error'));
  attach(deps, stream, sub);
}

/** WebSocket-FLV: the same bytes as HTTP-FLV, one binary message per tag. */
export function serveWsFlv(deps: FlvViewerDeps, stream: Stream, req: IncomingMessage, ws: WebSocket): void {
  const sink: FlvSink = {
    write: (chunk) => ws.send(chunk, { binary: true }),
    pending: () => ws.bufferedAmount,
    end: (reason) => {
      if (ws.readyState === ws.OPEN && ws.bufferedAmount < 65536) ws.close(1000, reason.slice(0, 100));
      else ws.terminate();
    },
  };
  const sub = new FlvSubscriber(`ws-flv-${nextId++}`, 'ws-flv', remote(req), deps.limits, sink, deps.limits.stallCutMs);
  ws.on('close', () => sub.close('viewer disconnected'));
  ws.on('error', () => sub.close('socket error'));
  // Viewers have nothing to say; anything they send is ignored (maxPayload bounds it).
  attach(deps, stream, sub);
}
