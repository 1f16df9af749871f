import { ClusterPublisher } from '../../src/bench/cluster/publisher.js';
import { BenchCluster, getJson, sleep, until } from '../../src/bench/cluster/cluster.js';
import { BenchViewer } from '../../src/bench/cluster/viewer.js';
const c = await BenchCluster.start();
const t0 = performance.now();
const ts = () => Math.round(performance.now() - t0);
try {
  const [origin, second, e1] = await Promise.all([
    c.node({ id: 'origin', region: 'r1', host: '127.0.1.31', logLevel: 'info' }),
    c.node({ id: 'second', region: 'r1', host: '127.0.1.32', logLevel: 'info' }),
    c.node({ id: 'edge1', region: 'r1', host: '127.0.1.33', logLevel: 'info' }),
  ]);
  const pub = new ClusterPublisher({ urls: [origin!.transportUrl('live', 'bench'), second!.transportUrl('live', 'bench')] });
  await pub.start();
  await until('own', async () => (await getJson(`${e1!.httpBase}/api/route?app=live&key=bench`)).body.owner === 'origin');
  const v = new BenchViewer(`${e1!.httpBase}/live/bench.flv`, 'e1');
  await until('video', () => v.videoTimes.length > 10);
  await sleep(1000);
  const kill = performance.now();
  console.log('kill at', ts(), Date.now());
  await origin!.kill();
  const n = v.videoTimes.length;
  await until('moved', async () => (await getJson(`${e1!.httpBase}/api/route?app=live&key=bench`)).body.owner === 'second');
  console.log('moved at', ts(), 'pub switches', pub.switches);
  await until('frames', () => v.videoTimes.length > n + 5, 15000);
  console.log('frames again at', ts(), 'gap', Math.round(v.videoTimes[n]! - kill));
  await pub.stop();
  v.close();
  for (const l of e1!.log().split('\n')) if (/cluster/.test(l)) console.log("E1", l.slice(0, 250));
  for (const l of second!.log().split('\n')) if (/cluster|transport/.test(l)) console.log("S", l.slice(0, 250));
} finally {
  await c.stop();
}
