/**
 * f32 GEMM: ours (gemm_f32 kernel via gemmPacked, weights packed once) against
 * onnxruntime-web's MatMul (weights as initializers, prepacked by ORT) at the same thread
 * count, on the model's shapes. Prints GFLOP/s (2·M·N·K / median time) and the ratio
 * ORT time / our time; writes bench/results/f32.json.
 *
 *   npx tsx bench/f32.bench.ts                  # threads 1 and 2 (one child process each)
 *   npx tsx bench/f32.bench.ts --threads 1 --shapes 257x384x1152
 *   npx tsx bench/f32.bench.ts --sweep          # tile variants, 1 thread, CPU-time GFLOP/s
 *
 * Both sides time one call with the activation already in a JS Float32Array and the result
 * returned in one: ours copies A into the kernel heap and C out; ORT copies into its own heap.
 * Every result is checked against the TypeScript twin (bit-exact) before timing.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { Rng } from '../src/tensor/rng.js';
import { poolStats, setThreads, shutdownThreads } from '../src/tensor/threads/pool.js';
import { nodeWorkers } from '../src/platform/workers-node.js';
import { GEMM_F32_SPEC, gemmPacked, packB, setGemmF32Spec } from '../src/tensor/wasm/f32/api.js';
import type { KernelSpec } from '../src/tensor/wasm/spec.js';
import { gemmF32Twin } from '../src/tensor/wasm/f32/ref.js';
import { kernelName } from '../src/tensor/wasm/spec.js';
import { matMulF32Model, ort, ortSession } from './ort-models.js';

const SHAPES: [number, number, number][] = [
  [257, 384, 1152],
  [257, 384, 384],
  [257, 384, 1536],
  [257, 1536, 384],
  [1024, 1024, 1024],
  [19200, 148, 444],
];

export interface F32Row {
  M: number;
  K: number;
  N: number;
  threads: number;
  kernel: string;
  oursMs: number;
  oursGflops: number;
  ortMs: number;
  ortGflops: number;
  /** ORT median time / our median time (> 1: we are faster). */
  ratio: number;
  /**
   * Median process CPU time per call, summed over all threads (with 1 thread: the calling
   * thread's time, robust to other load on a shared machine).
   */
  oursCpuMs: number;
  ortCpuMs: number;
  /** Share of our tasks run by worker threads during the timed calls (0 with 1 thread). */
  workerShare: number;
  /** Load average (1 min) when the row was measured. */
  load1: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function rand(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
}

/** Median over n calls of the process CPU time (user + system) of one call, in ms. */
async function cpuMedian(n: number, fn: () => unknown): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    xs.push((c.user + c.system) / 1000);
  }
  xs.sort((a, b) => a - b);
  return xs[n >> 1];
}

async function child(threads: number, shapes: [number, number, number][]): Promise<F32Row[]> {
  ort.env.wasm.numThreads = threads;
  if (setThreads(threads, nodeWorkers) !== threads) throw new Error(`could not start ${threads} threads`);
  const rows: F32Row[] = [];
  for (const [M, K, N] of shapes) {
    const rng = new Rng(M * 7919 + K * 31 + N);
    const A = rand(rng, M * K);
    const W = rand(rng, K * N); // (K, N) as ORT's MatMul B
    const packed = packB(W, N, K, false);
    const C = new Float32Array(M * N);
    gemmPacked(A, packed, null, C);
    const R = new Float32Array(M * N);
    gemmF32Twin(M, N, K, A, W, false, null, R);
    for (let i = 0; i < C.length; i++) if (!Object.is(C[i], R[i])) throw new Error(`${M}x${K}x${N}: kernel != twin at ${i}`);

    const sess = await ortSession(matMulF32Model(M, K, N, W));
    const feed = { A: new ort.Tensor('float32', A, [M, K]) };
    const flops = 2 * M * N * K;
    const iters = flops > 1e9 ? 7 : 15;
    const bench = new Bench({ time: 0, iterations: iters, warmupTime: 0, warmupIterations: 3 });
    bench.add(`ours ${M}x${K}x${N}`, () => gemmPacked(A, packed, null, C));
    bench.add(`ort ${M}x${K}x${N}`, async () => {
      const r = await sess.run(feed);
      (r.Y as ort.Tensor).dispose();
    });
    await bench.run();
    const [ours, theirs] = bench.tasks.map((t) => {
      const r = t.result;
      if (!r || !('latency' in r)) throw new Error(`bench ${t.name} failed: ${JSON.stringify(r)}`);
      return r.latency.p50;
    });
    const st0 = poolStats();
    const oursCpu = await cpuMedian(iters, () => gemmPacked(A, packed, null, C));
    const st1 = poolStats();
    const ortCpu = await cpuMedian(iters, async () => (await sess.run(feed)).Y.dispose());
    await sess.release();
    packed.free();
    rows.push({
      M, K, N, threads,
      kernel: kernelName(GEMM_F32_SPEC),
      oursMs: ours,
      oursGflops: flops / ours / 1e6,
      ortMs: theirs,
      ortGflops: flops / theirs / 1e6,
      ratio: theirs / ours,
      oursCpuMs: oursCpu,
      ortCpuMs: ortCpu,
      workerShare: st1.tasks > st0.tasks ? (st1.tasksByWorkers - st0.tasksByWorkers) / (st1.tasks - st0.tasks) : 0,
      load1: loadavg()[0],
    });
  }
  shutdownThreads();
  return rows;
}

function table(rows: F32Row[]): string {
  const head = '| M x K x N | threads | ours ms | ours GFLOP/s | ORT ms | ORT GFLOP/s | ours/ORT | CPU-time GFLOP/s ours / ORT | worker share | load |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|';
  const body = rows.map((r) => {
    const f = (2 * r.M * r.N * r.K) / 1e6;
    const cpu = `${(f / r.oursCpuMs).toFixed(1)} / ${(f / r.ortCpuMs).toFixed(1)}`;
    return `| ${r.M}x${r.K}x${r.N} | ${r.threads} | ${r.oursMs.toFixed(2)} | ${r.oursGflops.toFixed(1)} | ${r.ortMs.toFixed(2)} | ${r.ortGflops.toFixed(1)} | ${r.ratio.toFixed(2)}x | ${cpu} | ${r.workerShare.toFixed(2)} | ${r.load1.toFixed(1)} |`;
  });
  return [head, sep, ...body].join('\n');
}

/** Tile variants compared by --sweep (how the default in f32/api.ts was chosen). */
const SWEEP: KernelSpec[] = [
  GEMM_F32_SPEC,
  ...[
    [4, 8, 384, 64, 1, undefined],
    [4, 8, 384, 64, 2, 'packa'],
    [4, 8, 384, 64, 4, 'packa'],
    [4, 8, 384, 64, 4, undefined],
    [4, 8, 256, 128, 1, 'packa'],
    [4, 8, 512, 64, 1, 'packa'],
    [2, 16, 384, 64, 1, 'packa'],
    [3, 8, 384, 63, 1, 'packa'],
    [5, 8, 384, 60, 1, 'packa'],
    [6, 8, 384, 60, 1, 'packa'],
    [4, 16, 384, 64, 1, undefined],
    [8, 4, 384, 64, 1, 'packa'],
  ].map(([mr, nr, kc, mc, ku, variant]) => ({ ...GEMM_F32_SPEC, tile: { mr, nr, kc, mc, ku } as Record<string, number>, variant: variant as string | undefined })),
];

/** One thread, median CPU time per call (robust to other load), GFLOP/s per shape. */
async function sweep(shapes: [number, number, number][]): Promise<void> {
  const data = shapes.map(([M, K, N]) => {
    const rng = new Rng(M + K + N);
    return { M, K, N, A: rand(rng, M * K), W: rand(rng, N * K), C: new Float32Array(M * N) };
  });
  console.log(`| kernel | ${shapes.map((s) => s.join('x')).join(' | ')} |`);
  console.log(`|---|${shapes.map(() => '---').join('|')}|`);
  for (const sp of SWEEP) {
    setGemmF32Spec(sp);
    const cells: string[] = [];
    for (const { M, K, N, A, W, C } of data) {
      const p = packB(W, N, K, true);
      const ms = await cpuMedian(9, () => gemmPacked(A, p, null, C));
      cells.push((2 * M * N * K / ms / 1e6).toFixed(1));
      p.free();
    }
    console.log(`| ${kernelName(sp)} | ${cells.join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  const shapes = arg('shapes')?.split(',').map((s) => s.split('x').map(Number) as [number, number, number]) ?? SHAPES;
  if (process.argv.includes('--sweep')) {
    await sweep(arg('shapes') ? shapes : [[257, 384, 1152], [257, 1536, 384], [1024, 1024, 1024], [19200, 148, 444]]);
    return;
  }
  if (process.argv.includes('--child')) {
    const rows = await child(Number(arg('threads') ?? '1'), shapes);
    process.stdout.write(`ROWS ${JSON.stringify(rows)}\n`);
    return;
  }
  const threadList = (arg('threads') ?? '1,2').split(',').map(Number);
  const self = fileURLToPath(import.meta.url);
  const rows: F32Row[] = [];
  for (const t of threadList) {
    const extra = arg('shapes') ? ['--shapes', arg('shapes') as string] : [];
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', '--threads', String(t), ...extra], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('ROWS '));
    if (r.status !== 0 || !line) throw new Error(`child (threads ${t}) failed:\n${r.stderr}`);
    rows.push(...(JSON.parse(line.slice(5)) as F32Row[]));
  }
  console.log(table(rows));
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, ort: ort.env.versions.common, loadavg: loadavg() };
  const out = arg('out') ?? 'bench/results/f32.json';
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2));
  console.log(`wrote ${out}`);
}

await main();
