import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Registry } from '../Registry.js';
import type { Stream } from '../Stream.js';
import type { BackpressureLimits } from '../Subscriber.js';
import type { Logger } from '../log.js';
import { FlvSubscriber, joinBatch, WRITE_CAP_BYTES, type FlvSink } from './FlvSubscriber.js';
import { tcpQueues, type KernelQueue } from './tcpQueues.js';
import { endSoon } from './teardown.js';

let nextId = 1;

export interface FlvViewerDeps {
  registry: Registry;
  logger: Logger;
  limits: BackpressureLimits & { stallCutMs: number; mergeWriteMs?: number; busyMergeWriteMs?: number; load?: { readonly busy: boolean } };
  /** Called when a viewer leaves, so the metrics can count its last bytes. */
  onViewerClosed?: (sub: FlvSubscriber) => void;
}

/**
 * Attaches a viewer to a live stream and detaches it on every way out: the socket closes, the
 * viewer is cut as too slow, or the stream closes (its publisher did not come back within the
 * grace). A publisher that leaves and returns in time is not one of them: the Stream carries
 * the viewer over to the next publisher on one timeline (see Stream).
 */
function attach(deps: FlvViewerDeps, stream: Stream, sub: FlvSubscriber): void {
  sub.onClosed = (reason) => {
    stream.unsubscribe(sub);
    deps.registry.apps.get(stream.app)?.release(stream);
    deps.onViewerClosed?.(sub);
    deps.logger.info({ viewer: sub.id, protocol: sub.protocol, stream: stream.path, reason, skipped: sub.skippedFrames, bytes: sub.bytesSent }, 'viewer left');
  };
  deps.logger.info({ viewer: sub.id, protocol: sub.protocol, stream: stream.path, remote: sub.remoteAddress }, 'viewer joined');
  stream.subscribe(sub);
}

/** The sink's view of the kernel's send buffer (see tcpQueues), followed until the viewer leaves. */
function kernelOf(socket: Socket, sub: () => FlvSubscriber): { probe: KernelQueue; kernelQueued?: () => number | undefined; kernelFast?: () => void } {
  const probe = tcpQueues.watch(socket, () => sub().sampled(), () => sub().pollStarted());
  return tcpQueues.available ? { probe, kernelQueued: () => probe.tx, kernelFast: () => probe.fast() } : { probe };
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
  // One batch per write: no Nagle delay between a frame and the viewer.
  res.socket?.setNoDelay(true);
  const k = kernelOf(req.socket, () => sub);
  const sink: FlvSink = {
    write: (chunks, bytes) => {
      const one = joinBatch(chunks, bytes);
      if (one) return void res.write(one);
      res.cork();
      for (const c of chunks) res.write(c);
      res.uncork();
    },
    buffered: () => res.writableLength,
    kernelQueued: k.kernelQueued,
    kernelFast: k.kernelFast,
    end: (_reason, clean) => {
      k.probe.stop();
      if (res.destroyed) return;
      // A clean end with little queued sends the chunked terminator; a cut (or a socket that
      // would hold the end back) is destroyed, a few per turn (see teardown.ts).
      if (clean && res.writableLength < WRITE_CAP_BYTES) res.end();
      else endSoon(() => res.destroy());
    },
  };
  const sub = new FlvSubscriber(`http-flv-${nextId++}`, 'http-flv', remote(req), deps.limits, sink, deps.limits.stallCutMs);
  res.on('drain', () => sub.drained());
  res.on('close', () => sub.close('viewer disconnected'));
  res.on('error', () => sub.close('socket error'));
  attach(deps, stream, sub);
}

/**
 * WebSocket-FLV: the same bytes as HTTP-FLV, one binary message per batch of tags (players
 * such as mpegts.js read the messages as one FLV byte stream, not a tag each).
 */
export function serveWsFlv(deps: FlvViewerDeps, stream: Stream, req: IncomingMessage, ws: WebSocket): void {
  const k = kernelOf(req.socket, () => sub);
  // Runs once the socket has taken the message: the cue to send what waited.
  const afterSend = (err?: Error) => void (err ? undefined : sub.drained());
  const sink: FlvSink = {
    write: (chunks, bytes) => {
      const one = joinBatch(chunks, bytes);
      if (one) return ws.send(one, { binary: true }, afterSend);
      for (let i = 0; i < chunks.length; i++) ws.send(chunks[i]!, { binary: true }, i === chunks.length - 1 ? afterSend : undefined);
    },
    buffered: () => ws.bufferedAmount,
    kernelQueued: k.kernelQueued,
    kernelFast: k.kernelFast,
    end: (reason, clean) => {
      k.probe.stop();
      if (clean && ws.readyState === ws.OPEN && ws.bufferedAmount < WRITE_CAP_BYTES) ws.close(1000, reason.slice(0, 100));
      else endSoon(() => ws.terminate());
    },
  };
  const sub = new FlvSubscriber(`ws-flv-${nextId++}`, 'ws-flv', remote(req), deps.limits, sink, deps.limits.stallCutMs);
  ws.on('close', () => sub.close('viewer disconnected'));
  ws.on('error', () => sub.close('socket error'));
  // Viewers have nothing to say; anything they send is ignored (maxPayload bounds it).
  attach(deps, stream, sub);
}
