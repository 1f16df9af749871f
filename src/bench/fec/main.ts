import { ReedSolomonCode, XorCode, type FecCode } from '../../transport/fec/index.js';

/**
 * FEC throughput on one core: source bytes encoded (and decoded with the worst loss the block
 * can take) per second. Usage: node --import tsx src/bench/fec/main.ts [--json]
 */
interface Row { code: string; k: number; r: number; bytes: number; encodeMBps: number; decodeMBps: number }

function measure(code: FecCode, k: number, r: number, len: number, ms = 700): Row {
  const src = Array.from({ length: k }, (_, i) => Uint8Array.from({ length: len }, (_, j) => (i * 131 + j * 7) & 255));
  const rep = code.encode(src, r);
  const got = new Map<number, Uint8Array>();
  for (let i = r; i < k; i++) got.set(i, src[i]!);
  rep.forEach((p, j) => got.set(k + j, p));
  const rate = (f: () => void) => {
    for (let i = 0; i < 50; i++) f();
    const t = performance.now();
    let n = 0;
    while (performance.now() - t < ms) {
      f();
      n++;
    }
    return (n * k * len) / 1e6 / ((performance.now() - t) / 1000);
  };
  const enc = rate(() => code.encode(src, r));
  const dec = rate(() => {
    if (!code.decode(got, k, k + r)) throw new Error('decode failed');
  });
  return { code: code.name, k, r, bytes: len, encodeMBps: Math.round(enc), decodeMBps: Math.round(dec) };
}

const rows = [
  measure(new XorCode(), 10, 1, 1200),
  measure(new ReedSolomonCode(), 10, 2, 1200),
  measure(new ReedSolomonCode(), 10, 4, 1200),
  measure(new ReedSolomonCode(), 20, 6, 1200),
];
console.log('code  k   r  bytes  encode MB/s  decode MB/s (r sources lost)');
for (const x of rows) console.log(`${x.code.padEnd(5)} ${String(x.k).padEnd(3)} ${String(x.r).padEnd(2)} ${String(x.bytes).padEnd(6)} ${String(x.encodeMBps).padEnd(12)} ${x.decodeMBps}`);
if (process.argv.includes('--json')) for (const x of rows) console.log(JSON.stringify(x));
