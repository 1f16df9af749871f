// Runs every test/**/*.test.ts file with Node's test runner, TypeScript loaded by tsx.
// Usage: node scripts/test.mjs [substring filters...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Real-time checks of timing against a peer (SRT's 40 ms margin, a link killed mid-stream on
// real sockets) run after the others, one at a time: next to a Chromium test on 2 cores,
// scheduling alone made SRT miss its margin in both of the fairness test's runs.
// The e2e benches' tests judge frames on time on a loopback: next to two other test files, CPU
// stalls of 100-300 ms read as queues to the delay controller and the sender sheds video (0 to
// 49 of 90 frames on time at load 6-10, on this round's code and the last round's alike).
const QUIET = ['test/bench/transport/SrtRun.test.ts', 'test/net/bonding.test.ts', 'test/bench/soak/soak.test.ts', 'test/srt/lossy.test.ts', 'test/srt/bench.test.ts',
  'test/bench/e2e/e2e.test.ts', 'test/bench/e2e/encode.test.ts',
  // Main/backup: a switch after 300 ms of silence, judged against a 500 ms gap on real sockets.
  'test/server/backup/rtmpSwitch.test.ts', 'test/cluster/mainBackup.test.ts',
  // etcd down for 8 s: the edge viewer's gap is judged against 1 s on real sockets.
  'test/cluster/etcdOutage.test.ts', 'test/cluster/etcdBlackhole.test.ts',
  // hls.js's live latency judged against 2 s: beside a ladder's ffmpeg and a throttled Chromium
  // (playerQuality) it read 3.03 s in CI, beside the other files of its turn 6.23 s.
  'test/web/player.test.ts', 'test/web/playerQuality.test.ts'];
const quiet = files.filter((f) => QUIET.includes(f.split('\\').join('/')));
const rest = files.filter((f) => !quiet.includes(f));
const run = (list, concurrency) =>
  list.length === 0 ? 0 : (spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...list], { stdio: 'inherit' }).status ?? 1);
const first = run(rest, 2);
const second = run(quiet, 1);
process.exit(first || second);
