/**
 * The player page in Chromium (Debian's, through playwright-core) as a cluster viewer: opened on
 * one node with `?route=1`, it asks that node where to play and plays the media from the node
 * named, asking again (avoiding the lost node) when that node goes. Its `stats.connections`
 * (web/player.js) say which node each connection was on and when its first frame was painted.
 * The page needs a stream a browser can decode: `pushTestPattern` sends ffmpeg's testsrc2 over
 * RTMP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

function need(bin: string, pkg: string): void {
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`${bin} is required by bench cluster's page viewer (apt-get install -y ${pkg})`);
}

/**
 * ffmpeg pushing a 640x360 test pattern (H.264, 30 fps, a keyframe every `gopS`) and a tone
 * (AAC) to an RTMP URL. 2 s by default, as the synthetic stream of the other scenarios: a new
 * edge's first frame can wait for a keyframe, so a shorter GOP would flatter resume times.
 */
export function pushTestPattern(rtmpUrl: string, gopS = 2): ChildProcess {
  need('ffmpeg', 'ffmpeg');
  const g = String(Math.round(30 * gopS));
  return spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', g, '-keyint_min', g, '-sc_threshold', '0', '-bf', '0',
    '-pix_fmt', 'yuv420p', '-b:v', '800k', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', rtmpUrl,
  ], { stdio: ['ignore', 'ignore', 'ignore'] });
}

export interface PageConnection {
  node: string | null;
  startedAt: number;
  firstFrameAt: number | null;
}

export class PageViewer {
  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
  ) {}

  static async open(url: string): Promise<PageViewer> {
    need(CHROMIUM, 'chromium');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      return new PageViewer(browser, page);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** The page's connections (wall-clock ms), oldest first, the last 20. */
  connections(): Promise<PageConnection[]> {
    return this.page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: { connections: PageConnection[] } } }).tributaryPlayer.stats.connections);
  }

  /** The node the page plays from now, once its connection painted a frame. */
  async playingOn(): Promise<string | undefined> {
    const c = (await this.connections()).at(-1);
    return c?.firstFrameAt ? (c.node ?? undefined) : undefined;
  }

  /** ms from `killAt` (wall clock) to the first frame painted on a connection to another node. */
  async resumedAfter(killAt: number, lost: string): Promise<number | undefined> {
    const c = (await this.connections()).find((x) => x.node !== lost && x.firstFrameAt !== null && x.firstFrameAt > killAt);
    return c ? c.firstFrameAt! - killAt : undefined;
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}
