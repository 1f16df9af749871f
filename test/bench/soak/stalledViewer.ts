/**
 * A soak transport viewer in a process of its own, so a test can starve it (SIGSTOP/SIGCONT)
 * while the server keeps running. Its stream's publisher never restarts, so every id from the
 * first frame counted on was sent: the ledger is one open session. Prints the account as JSON
 * when stdin ends.
 * Usage: stalledViewer.ts '{"host","transportPort","app","key","localAddress"}'
 */
import { SentLedger } from '../../../src/bench/soak/ledger.js';
import { TransportViewer } from '../../../src/bench/soak/viewers.js';

const t = JSON.parse(process.argv[2]!) as { host: string; transportPort: number; app: string; key: string; localAddress: string };
const ledger = new SentLedger();
ledger.startSession(0);
ledger.sent(0xffffffff);
const viewer = new TransportViewer({ ...t, httpPort: 0, rtmpPort: 0 }, ledger);
process.stdin.resume();
process.stdin.on('end', () => {
  const a = viewer.account;
  process.stdout.write(JSON.stringify({ received: a.received, lost: a.lost, givenUp: a.givenUp, ended: viewer.ended ?? null }) + '\n');
  viewer.close();
  setTimeout(() => process.exit(0), 300);
});
