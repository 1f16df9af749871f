// Feeds a Stream with real frames at real pace (looping the source, timestamps kept rising),
// as a publisher would, and serves an HlsService on 127.0.0.1 port 0.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stream } from '../../../src/server/Stream.js';
import type { HlsService } from '../../../src/server/hls/HlsService.js';
import type { Source } from '../../media/mp4/source.js';

export interface Feed {
  stop(): void;
  /** Frames pushed so far. */
  readonly pushed: number;
}

export function startFeed(stream: Stream, src: Source): Feed {
  stream.publish({ id: 'test-publisher', protocol: 'test', remoteAddress: '127.0.0.1:0', close() {} });
  stream.pushConfig(src.video);
  stream.pushConfig(src.audio);
  const last = src.frames[src.frames.length - 1]!;
  // Sources last whole seconds, so the next loop starts where this one ends.
  const loopMs = Math.round(last.dts / 1000) * 1000;
  const started = performance.now();
  let i = 0;
  let loop = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const state = {
    pushed: 0,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
  const tick = () => {
    if (stopped) return;
    const elapsed = performance.now() - started;
    for (;;) {
      const f = src.frames[i]!;
      const dts = f.dts + loop * loopMs;
      if (dts > elapsed) break;
      stream.pushFrame({ ...f, dts, pts: f.pts + loop * loopMs, captureTime: Date.now() });
      state.pushed++;
      if (++i === src.frames.length) {
        i = 0;
        loop++;
      }
    }
    const next = src.frames[i]!.dts + loop * loopMs;
    timer = setTimeout(tick, Math.max(0, next - (performance.now() - started)));
  };
  tick();
  return state;
}

export async function serve(hls: HlsService): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const m = /^\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (m && hls.handle(req, res, m[1]!, m[2]!, m[3]!)) return;
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}` };
}
