/**
 * `npm run bench:runtimes`: the same workload (scripts/runtimes/workload.ts: f32 GEMM through
 * matmul at 256^3 and the predictor-fc1 shape 1600x84x336, and one 100-sample CEM step of the
 * compact Wall model, at 1 and 2 threads) under Node, Deno, Bun and headless Chromium (cross-
 * origin isolated, Web Workers), each in its own process, side by side. Wall-clock medians;
 * on a shared 2-core machine run it twice and quote medians. Writes bench/results/runtimes.json.
 *
 *   npm run bench:runtimes                       (compiles web/tsconfig.json first)
 *   npm run bench:runtimes -- --out /tmp/r.json --only node,bun
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSession } from '../scripts/runtimes/chromium.js';
import type { BenchRow } from '../scripts/runtimes/workload.js';
import { binary, runBounded } from '../test/portable/runtimes.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const out = opt('--out') ?? fileURLToPath(new URL('./results/runtimes.json', import.meta.url));
const only = (opt('--only') ?? 'node,deno,bun,chromium').split(',');
const MAIN = fileURLToPath(new URL('../scripts/runtimes/bench-main.ts', import.meta.url));

async function child(name: string, cmd: string[]): Promise<BenchRow[]> {
  process.stderr.write(`bench:runtimes ${name}...\n`);
  const r = await runBounded(cmd, 600_000);
  const line = r.stdout.split('\n').find((l) => l.startsWith('QWM_BENCH '));
  if (!line) throw new Error(`${name}: ${r.timedOut ? 'timed out' : `exit ${r.code}`}\n${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice('QWM_BENCH '.length)) as BenchRow[];
}

async function chromiumRows(): Promise<BenchRow[]> {
  process.stderr.write('bench:runtimes chromium...\n');
  const s = await openSession({ isolate: true });
  try {
    await s.page.goto(`${s.server.url}/web/bench.html`, { timeout: 60_000 });
    await s.page.waitForFunction('globalThis.__qwmBench !== undefined || globalThis.__qwmBenchError !== undefined', null, { timeout: 600_000, polling: 500 });
    const err = (await s.page.evaluate('globalThis.__qwmBenchError')) as string | undefined;
    if (err) throw new Error(`chromium: ${err}`);
    return (await s.page.evaluate('globalThis.__qwmBench')) as BenchRow[];
  } finally {
    await s.close();
  }
}

const rows: BenchRow[] = [];
if (only.includes('node')) rows.push(...(await child('node', [binary('tsx'), MAIN])));
if (only.includes('deno')) rows.push(...(await child('deno', [binary('deno'), 'run', '--sloppy-imports', '--no-lock', '--no-prompt', '--allow-read', '--allow-env', MAIN])));
if (only.includes('bun')) rows.push(...(await child('bun', [binary('bun'), MAIN])));
if (only.includes('chromium')) rows.push(...(await chromiumRows()));

// side by side: one line per (what, shape, threads), one column per runtime
const runtimes = [...new Set(rows.map((r) => r.runtime))];
const keys = [...new Set(rows.map((r) => `${r.what}|${r.shape}|${r.threads}`))];
const w = 44;
const lines = [`${'workload'.padEnd(w)}${runtimes.map((r) => r.padStart(22)).join('')}`];
for (const k of keys) {
  const [what, shape, threads] = k.split('|');
  const cells = runtimes.map((rt) => {
    const r = rows.find((x) => x.runtime === rt && `${x.what}|${x.shape}|${x.threads}` === k);
    return (r ? `${r.ms.toFixed(2)} ms ${r.rate.toFixed(r.unit === 'GFLOP/s' ? 1 : 0)}` : '-').padStart(22);
  });
  lines.push(`${`${what} ${shape} x${threads}`.padEnd(w)}${cells.join('')}`);
}
lines.push(`(ms = median wall clock; GEMM rows: GFLOP/s, CEM rows: samples/s)`);
console.log(lines.join('\n'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ bench: 'runtimes', date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg: loadavg().map((x) => +x.toFixed(2)) }, rows }, null, 1)}\n`);
console.log(`wrote ${out}`);
