/**
 * `npm run bench:gemm`: our f32, int8, W4A16 and W4A8 GEMMs against onnxruntime-web's MatMul,
 * MatMulInteger and MatMulNBits (accuracy_level 0 for W4A16, 4 for W4A8) at the same thread
 * count, on the model's shapes. Prints a table (GFLOP/s or GOP/s = 2·M·N·K / median time, and
 * the ratio ORT time / our time) and writes bench/results/gemm.json.
 *
 *   npm run bench:gemm                       # threads 1 and 2, all shapes
 *   npm run bench:gemm -- --threads 1 --shapes 257x384x1152,1024x1024x1024 --out /tmp/g.json
 *
 * Ours and ORT's are timed alternately, 3 rounds each (median of round medians), so drifting
 * load from other processes hits both sides; at 1 thread the table also gives process-CPU-time
 * throughput, which other processes on the same cores do not inflate. Each thread count runs in its own child process (onnxruntime-web fixes its thread count at
 * initialisation). What each side times, per call:
 * - ours: copy inputs into the kernel heap, (int8/W4A8: widen activations), GEMM, fused
 *   epilogue to f32, copy out. Weights packed once beforehand.
 * - ORT: session.run with the activation as the only feed; weights are initializers (ORT
 *   prepacks them). MatMulInteger returns int32 without scales (less work than our f32
 *   epilogue); MatMulNBits accuracy_level 4 also quantizes A to int8 inside the call, which our
 *   W4A8 row does not (it takes already-quantized activations).
 */
import { runChild } from './child.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { Rng } from '../src/tensor/rng.js';
import { setThreads } from '../src/tensor/threads/pool.js';
import { nodeWorkers } from '../src/platform/workers-node.js';
import { packB, gemmPacked } from '../src/tensor/wasm/f32/api.js';
import { GEMM_F32_SPEC } from '../src/tensor/wasm/f32/api.js';
import { kernelName } from '../src/tensor/wasm/spec.js';
import { gemmI8, packI8 } from '../src/tensor/wasm/int8/gemm.js';
import { GEMM_I8_SPEC } from '../src/tensor/wasm/int8/emit.js';
import { gemmW4A16, gemmW4A8, packI4 } from '../src/tensor/wasm/int4/gemm.js';
import { GEMM_W4A16_SPEC, GEMM_W4A8_SPEC } from '../src/tensor/wasm/int4/emit.js';
import type { Int4Weights } from '../src/tensor/wasm/int4/ref.js';
import { onnxModel } from '../test/tensor/wasm/onnx-builder.js';
import { toMatMulNBits } from '../test/tensor/wasm/int-gen.js';
import { matMulF32Model, ort, ortSession } from './ort-models.js';

const SHAPES: [number, number, number][] = [
  [257, 384, 1152],
  [257, 384, 384],
  [257, 384, 1536],
  [257, 1536, 384],
  [1024, 1024, 1024],
  [19200, 148, 444],
];
const GROUP = 32;

export interface Row {
  M: number;
  K: number;
  N: number;
  threads: number;
  kind: 'f32' | 'int8' | 'w4a16' | 'w4a8';
  kernel: string;
  oursMs: number;
  oursGops: number;
  ortOp: string;
  ortMs: number;
  ortGops: number;
  /** ORT median time / our median time (> 1: we are faster) */
  ratio: number;
  /**
   * 1 thread only: median process CPU time per call (ms), ours and ORT's. Robust to other
   * processes sharing the cores (wall time is not); null for multi-thread runs.
   */
  oursCpuMs: number | null;
  ortCpuMs: number | null;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseShapes(s: string | undefined): [number, number, number][] {
  if (!s) return SHAPES;
  return s.split(',').map((t) => t.split('x').map(Number) as [number, number, number]);
}

const session = ortSession;

async function median(name: string, fn: () => unknown): Promise<number> {
  const b = new Bench({ time: 200, iterations: 3, warmupTime: 50, warmupIterations: 2 });
  b.add(name, fn as () => void);
  await b.run();
  const r = b.tasks[0].result;
  if (!r || !('latency' in r)) throw new Error(`bench ${name} failed: ${JSON.stringify(r)}`);
  return r.latency.p50;
}

/**
 * Median times of ours and ORT's, measured alternately in ROUNDS rounds (the median of the
 * round medians), so that load from other processes drifting over the run hits both sides.
 */
const ROUNDS = 3;
async function pair(ours: () => unknown, theirs: () => unknown, cpu: boolean): Promise<[number, number, number | null, number | null]> {
  const a: number[] = [];
  const b: number[] = [];
  const ca: number[] = [];
  const cb: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(await median('ours', ours));
    b.push(await median('ort', theirs));
    if (cpu) {
      ca.push(await cpuMedian(5, ours));
      cb.push(await cpuMedian(5, theirs));
    }
  }
  const mid = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
  return [mid(a), mid(b), cpu ? mid(ca) : null, cpu ? mid(cb) : null];
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
  return xs.sort((p, q) => p - q)[n >> 1];
}

/** One ORT call whose output tensor is released (so ORT's heap does not grow). */
function runOrt(s: ort.InferenceSession, feed: Record<string, ort.Tensor>): () => Promise<void> {
  return async () => (await s.run(feed)).Y.dispose();
}

async function child(threads: number, shapes: [number, number, number][]): Promise<Row[]> {
  ort.env.wasm.numThreads = threads;
  setThreads(threads, nodeWorkers);
  const rows: Row[] = [];
  for (const [M, K, N] of shapes) {
    const rng = new Rng(M * 7 + K * 13 + N);
    const ops = 2 * M * N * K;
    const gops = (ms: number) => ops / ms / 1e6;
    const cpu = threads === 1;
    const push = (kind: Row['kind'], kernel: string, t: [number, number, number | null, number | null], ortOp: string) => {
      const [oursMs, ortMs, oursCpuMs, ortCpuMs] = t;
      const row: Row = { M, K, N, threads, kind, kernel, oursMs, oursGops: gops(oursMs), ortOp, ortMs, ortGops: gops(ortMs), ratio: ortMs / oursMs, oursCpuMs, ortCpuMs };
      rows.push(row);
      const c = oursCpuMs !== null && ortCpuMs !== null ? ` | cpu ${gops(oursCpuMs).toFixed(1)} vs ${gops(ortCpuMs).toFixed(1)} x${(ortCpuMs / oursCpuMs).toFixed(2)}` : '';
      console.error(`  ${M}x${K}x${N} t${threads} ${kind.padEnd(5)} ours ${oursMs.toFixed(2)} ms (${row.oursGops.toFixed(1)}) ORT ${ortMs.toFixed(2)} ms (${row.ortGops.toFixed(1)}) x${row.ratio.toFixed(2)}${c}`);
    };
    const x = new Float32Array(M * K).map(() => rng.normal());
    const out = new Float32Array(M * N);

    // f32: ours (packed weights, (N, K)) vs MatMul with B (K, N) initializer
    {
      const W = new Float32Array(N * K).map(() => rng.normal() * 0.05);
      const WT = new Float32Array(K * N);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) WT[k * N + n] = W[n * K + k];
      const pb = packB(W, N, K, true);
      const s = await session(matMulF32Model(M, K, N, WT));
      const feed = { A: new ort.Tensor('float32', x, [M, K]) };
      const t = await pair(() => gemmPacked(x, pb, null, out), runOrt(s, feed), cpu);
      pb.free();
      await s.release();
      push('f32', kernelName(GEMM_F32_SPEC), t, 'MatMul');
    }

    // int8: uint8 activations with a per-tensor zero point (ORT's dynamic-quant form), int8 weights
    {
      const A = new Uint8Array(M * K).map(() => rng.int(256));
      const zA = 128;
      const Wd = new Int8Array(N * K).map(() => rng.int(255) - 127);
      const WT = new Int8Array(K * N);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) WT[k * N + n] = Wd[n * K + k];
      const pw = packI8({ data: Wd, N, K, scales: new Float32Array(N).fill(0.01), zeros: null });
      const acts = { data: A, M, K, scales: Float32Array.of(0.02), zeros: Int32Array.of(zA) };
      const s = await session(onnxModel({
        nodes: [{ op: 'MatMulInteger', inputs: ['A', 'B', 'az'], outputs: ['Y'] }],
        initializers: [
          { name: 'B', dtype: 'int8', dims: [K, N], data: WT },
          { name: 'az', dtype: 'uint8', dims: [], data: Uint8Array.of(zA) },
        ],
        inputs: [{ name: 'A', dtype: 'uint8', dims: [M, K] }],
        outputs: [{ name: 'Y', dtype: 'int32', dims: [M, N] }],
      }));
      const feed = { A: new ort.Tensor('uint8', A, [M, K]) };
      const t = await pair(() => gemmI8(acts, pw, null, out), runOrt(s, feed), cpu);
      pw.free();
      await s.release();
      push('int8', kernelName(GEMM_I8_SPEC), t, 'MatMulInteger');
    }

    // 4-bit: symmetric i4, G = 32 (transformers.js q4 default), same weights for both kernels
    {
      const codes = new Uint8Array(Math.ceil((N * K) / 2)).map(() => rng.int(256));
      const nG = Math.ceil(K / GROUP);
      const w: Int4Weights = { N, K, groupSize: GROUP, signed: true, codes, scales: new Float32Array(N * nG).fill(0.01), zeros: null };
      const pw = packI4(w);
      const { B, nGroups, blob } = toMatMulNBits(w);
      const nbits = async (level: number) =>
        session(onnxModel({
          nodes: [{ op: 'MatMulNBits', domain: 'com.microsoft', inputs: ['A', 'B', 'S'], outputs: ['Y'], ints: { K, N, bits: 4, block_size: GROUP, accuracy_level: level } }],
          initializers: [
            { name: 'B', dtype: 'uint8', dims: [N, nGroups, blob], data: B },
            { name: 'S', dtype: 'float', dims: [N * nGroups], data: w.scales },
          ],
          inputs: [{ name: 'A', dtype: 'float', dims: [M, K] }],
          outputs: [{ name: 'Y', dtype: 'float', dims: [M, N] }],
        }));
      const feed = { A: new ort.Tensor('float32', x, [M, K]) };

      const s0 = await nbits(0);
      const t16 = await pair(() => gemmW4A16(M, x, pw, null, out), runOrt(s0, feed), cpu);
      await s0.release();
      push('w4a16', kernelName(GEMM_W4A16_SPEC), t16, 'MatMulNBits(acc0)');

      const A8 = new Int8Array(M * K).map(() => rng.int(255) - 127);
      const acts = { data: A8, M, K, scales: new Float32Array(M).fill(0.02), zeros: null };
      const s4 = await nbits(4);
      const t8 = await pair(() => gemmW4A8(acts, pw, null, out), runOrt(s4, feed), cpu);
      await s4.release();
      push('w4a8', kernelName(GEMM_W4A8_SPEC), t8, 'MatMulNBits(acc4)');
      pw.free();
    }
  }
  return rows;
}

function table(rows: Row[]): string {
  const head = '| M×K×N | threads | kernel | ours ms | ours GOP/s | ORT op | ORT ms | ORT GOP/s | ORT/ours | CPU-time GOP/s ours / ORT (ratio) |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) => {
    const ops = 2 * r.M * r.N * r.K;
    const c = r.oursCpuMs !== null && r.ortCpuMs !== null
      ? `${(ops / r.oursCpuMs / 1e6).toFixed(1)} / ${(ops / r.ortCpuMs / 1e6).toFixed(1)} (${(r.ortCpuMs / r.oursCpuMs).toFixed(2)})`
      : '-';
    return `| ${r.M}×${r.K}×${r.N} | ${r.threads} | ${r.kind} | ${r.oursMs.toFixed(2)} | ${r.oursGops.toFixed(1)} | ${r.ortOp} | ${r.ortMs.toFixed(2)} | ${r.ortGops.toFixed(1)} | ${r.ratio.toFixed(2)} | ${c} |`;
  });
  return [head, sep, ...lines].join('\n');
}

async function main(): Promise<void> {
  const shapes = parseShapes(arg('shapes'));
  if (process.argv.includes('--child')) {
    const rows = await child(Number(arg('threads') ?? '1'), shapes);
    process.stdout.write(JSON.stringify(rows));
    process.exit(0);
  }
  const threadList = (arg('threads') ?? '1,2').split(',').map(Number);
  const rows: Row[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const t of threadList) {
    console.error(`threads ${t}:`);
    const extra = arg('shapes') ? ['--shapes', arg('shapes') as string] : [];
    rows.push(...runChild<Row>(self, t, extra));
  }
  console.log(table(rows));
  const out = arg('out') ?? 'bench/results/gemm.json';
  mkdirSync(dirname(out), { recursive: true });
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, ort: ort.env.versions.common, loadavg: loadavg() };
  writeFileSync(out, JSON.stringify({ bench: 'gemm', date: new Date().toISOString(), machine, group: GROUP, rows }, null, 1) + '\n');
  console.error(`wrote ${out}`);
}

await main();
