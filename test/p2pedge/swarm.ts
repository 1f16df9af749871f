import type { ChildProcess } from 'node:child_process';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from '../webrtc/chromium.js';
import { pushRtmp, stop } from '../server/http/tools.js';
import { serve, type Served } from './serveProcess.js';

export interface Swarm {
  served: Served;
  browser: BrowserContext;
  close(): Promise<void>;
}

/**
 * What every P2P browser test starts with: a real serve process with the given `p2p` section,
 * ffmpeg pushing live/cam over RTMP for `pushSeconds`, and Debian's Chromium.
 */
export async function startSwarm(p2p: Record<string, unknown>, pushSeconds: number): Promise<Swarm> {
  const served = await serve({ p2p });
  let push: ChildProcess | undefined;
  try {
    push = pushRtmp(`rtmp://127.0.0.1:${served.rtmpPort}/live/cam`, pushSeconds);
    const { browser, close: closeBrowser } = await launchChromium();
    return {
      served,
      browser,
      close: async () => {
        await closeBrowser();
        await stop(push!);
        await served.close();
      },
    };
  } catch (err) {
    if (push) await stop(push);
    await served.close();
    throw err;
  }
}
