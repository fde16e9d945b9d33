/**
 * `npx tsx bench/ops.bench.ts`: each fast non-GEMM op (src/tensor/fast) against its
 * reference twin (src/tensor/ops) at the compact model's shapes (rows = 300·16 and 300·48
 * tokens, widths 64, 84, 336; attention B = 300, H = 4, N = 16 and 48, dh = 32) and one
 * full-size shape (257 tokens x 384, 6 heads x 64), on 1 thread. Prints a markdown table
 * (median ms per call and the ratio reference / fast) and writes bench/results/ops.json.
 *
 *   npx tsx bench/ops.bench.ts                         # everything
 *   npx tsx bench/ops.bench.ts --only gelu,attention   # ops whose name starts with these
 *   npx tsx bench/ops.bench.ts --out /tmp/ops.json
 *
 * Timing: fast and reference are measured alternately in 3 rounds (tinybench median per
 * round, then the median of the rounds), so load drifting over the run hits both; the table
 * also gives the median process CPU time per call, which other processes on the same cores
 * do not inflate. Both sides time the whole op as a caller sees it: argument checks, heap
 * copies in and out (fast), allocation of the result.
 *
 * The last rows time one predictor forward of the compact model (3 blocks, width 84) with the
 * layers' Fns running reference ops vs these fast ops (GEMMs on the wasm backend in both),
 * and with the attention additionally fused (attentionQkv, as the proposed Fns hook would).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import * as fast from '../src/tensor/fast/index.js';
import * as ops from '../src/tensor/ops/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Rng } from '../src/tensor/rng.js';
import { setThreads } from '../src/tensor/threads/pool.js';
import { kernelName } from '../src/tensor/wasm/spec.js';
import { useBackend } from '../src/tensor/wasm/install.js';
import { tensorFns } from '../src/nn/fn.js';
import type { Fns } from '../src/nn/fn.js';
import { Predictor, frameCausalMask, predictorSpec } from '../src/nn/predictor.js';
import { Attention } from '../src/nn/layers.js';
import { initWeights } from '../src/nn/weights.js';
import { compactConfig } from '../src/nn/compact.js';

interface Case {
  op: string;
  shape: string;
  kernel: string;
  fast: () => unknown;
  ref: () => unknown;
}

export interface Row {
  op: string;
  shape: string;
  kernel: string;
  fastMs: number;
  refMs: number;
  /** reference median time / fast median time (> 1: fast is faster) */
  ratio: number;
  fastCpuMs: number;
  refCpuMs: number;
  cpuRatio: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const rng = new Rng(20240611);
function randn(shape: number[], s = 1): Tensor<'f32'> {
  const t = new Tensor('f32', shape);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] = rng.normal() * s;
  return t;
}

function causal(N: number, P: number): Tensor<'u8'> {
  return frameCausalMask(N / P, P);
}

function cases(): Case[] {
  const out: Case[] = [];
  const K = kernelName;
  const rowsList = [300 * 16, 300 * 48];
  for (const rows of rowsList) {
    for (const D of [64, 84, 336]) {
      const x = randn([rows, D], 2);
      const g = randn([D]);
      const b = randn([D]);
      const r = randn([rows, D]);
      out.push({ op: 'gelu', shape: `${rows}x${D}`, kernel: K(fast.GELU_SPEC), fast: () => fast.gelu(x), ref: () => ops.gelu(x) });
      out.push({ op: 'layerNorm', shape: `${rows}x${D}`, kernel: K(fast.LAYER_NORM_SPEC), fast: () => fast.layerNorm(x, g, b, 1e-5), ref: () => ops.layerNorm(x, g, b, 1e-5) });
      out.push({ op: 'add bias', shape: `${rows}x${D} + ${D}`, kernel: 'ts', fast: () => fast.add(x, b), ref: () => ops.add(x, b) });
      out.push({ op: 'add residual', shape: `${rows}x${D}`, kernel: 'ts', fast: () => fast.add(x, r), ref: () => ops.add(x, r) });
      out.push({ op: 'mul layerscale', shape: `${rows}x${D} * ${D}`, kernel: 'ts', fast: () => fast.mul(x, g), ref: () => ops.mul(x, g) });
    }
  }
  // full size: 257 tokens x 384 (MLP 1536)
  {
    const x = randn([257, 384], 2);
    const h = randn([257, 1536], 2);
    const g = randn([384]);
    const b = randn([384]);
    out.push({ op: 'gelu', shape: '257x1536', kernel: K(fast.GELU_SPEC), fast: () => fast.gelu(h), ref: () => ops.gelu(h) });
    out.push({ op: 'layerNorm', shape: '257x384', kernel: K(fast.LAYER_NORM_SPEC), fast: () => fast.layerNorm(x, g, b, 1e-6), ref: () => ops.layerNorm(x, g, b, 1e-6) });
    out.push({ op: 'add bias', shape: '257x384 + 384', kernel: 'ts', fast: () => fast.add(x, b), ref: () => ops.add(x, b) });
  }
  // softmax over attention scores, frame-causal masks of 16-patch frames
  for (const N of [16, 48]) {
    const s = randn([300, 4, N, N], 3);
    const m = causal(N, 16);
    out.push({ op: 'softmax', shape: `300x4x${N}x${N} causal`, kernel: K(fast.SOFTMAX_SPEC), fast: () => fast.softmax(s, -1, m), ref: () => ops.softmax(s, -1, m) });
  }
  {
    const s = randn([1, 6, 257, 257], 3);
    out.push({ op: 'softmax', shape: '1x6x257x257', kernel: K(fast.SOFTMAX_SPEC), fast: () => fast.softmax(s), ref: () => ops.softmax(s) });
  }
  // attention from the fused qkv projection output to merged heads, vs the layers' composition
  for (const [B, N, H, dh, at] of [[300, 16, 4, 32, 'dots'], [300, 48, 4, 32, 'dots'], [1, 257, 6, 64, 'q']] as const) {
    const qkv = randn([B, N, 3 * H * dh]);
    const mask = at === 'dots' ? causal(N, 16) : null;
    const opts = { scaleAt: at, mask };
    out.push({ op: 'attention (fused qkv)', shape: `B${B} N${N} H${H} dh${dh}${mask ? ' causal' : ''}`, kernel: K(fast.ATTENTION_SPEC), fast: () => fast.attentionQkv(qkv, H, opts), ref: () => fast.attentionQkvRef(qkv, H, opts) });
    const q = randn([B, H, N, dh]);
    const k = randn([B, H, N, dh]);
    const v = randn([B, H, N, dh]);
    out.push({ op: 'attention (B,H,N,dh)', shape: `B${B} N${N} H${H} dh${dh}${mask ? ' causal' : ''}`, kernel: K(fast.ATTENTION_SPEC), fast: () => fast.attention(q, k, v, opts), ref: () => fast.attentionRef(q, k, v, opts) });
    out.push({ op: 'split heads', shape: `${B}x${N}x${3 * H * dh}`, kernel: 'ts', fast: () => fast.splitHeads(qkv, H), ref: () => ops.permute(qkv.reshape([B, N, 3, H, dh]), [2, 0, 3, 1, 4]) });
    out.push({ op: 'merge heads', shape: `${B}x${H}x${N}x${dh}`, kernel: 'ts', fast: () => fast.mergeHeads(q), ref: () => ops.permute(q, [0, 2, 1, 3]) });
  }
  // rollout layout: drop the action channels of the last frame, append a frame
  {
    const z = randn([300, 1, 16, 104]);
    const zz = randn([300, 3, 16, 104]);
    out.push({ op: 'slice', shape: '300x1x16x104 [..., :84]', kernel: 'ts', fast: () => fast.slice(z, 3, 0, 84), ref: () => ops.slice(z, 3, 0, 84) });
    out.push({ op: 'concat', shape: '300x3x16x104 ++ 300x1x16x104 (axis 1)', kernel: 'ts', fast: () => fast.concat([zz, z], 1), ref: () => ops.concat([zz, z], 1) });
  }
  out.push(...predictorCases());
  return out;
}

/** The layers' Fns with every non-GEMM op replaced by its fast twin (attention unfused). */
const fastFns: Fns<Tensor<'f32'>> = {
  ...tensorFns,
  add: fast.add,
  mul: fast.mul,
  scale: fast.scale,
  layerNorm: (x, g, b, eps) => fast.layerNorm(x, g, b, eps),
  gelu: fast.gelu,
  softmax: (x, mask) => fast.softmax(x, -1, mask),
  permute: fast.permute,
  concat: (xs, axis) => fast.concat(xs, axis),
  slice: (x, axis, start, end) => fast.slice(x, axis, start, end),
};

/** fastFns plus the fused attention, wired the way the report proposes (see fusedAttention). */
const fusedFns: Fns<Tensor<'f32'>> = { ...fastFns };

/**
 * What the proposed Fns.attention hook does: qkv projection -> attentionQkv -> output
 * projection, bit-identical to Attention.forward's reference composition. Installed on the
 * prototype for `fusedFns` only, in this bench process (src/nn is not changed).
 */
function fusedAttention(): void {
  const orig = Attention.prototype.forward;
  Attention.prototype.forward = function <T>(this: Attention, F: Fns<T>, x: T, mask: Tensor | null): T {
    if ((F as unknown) !== fusedFns) return orig.call(this, F, x, mask) as T;
    const qkv = this.qkv.forward(F, x) as unknown as Tensor<'f32'>;
    const o = fast.attentionQkv(qkv, this.heads, { scaleAt: this.scaleAt, mask });
    return this.proj.forward(F, o as unknown as T);
  };
}

function predictorCases(): Case[] {
  fusedAttention();
  const cfg = compactConfig('bench', { proprioDim: 4, numFrames: 3 });
  const D = cfg.encoder.dim + cfg.actionEmbDim + cfg.proprioEmbDim;
  const P = (cfg.imageSize / cfg.encoder.patchSize) ** 2;
  const pred = new Predictor(cfg.predictor, P, D, initWeights(predictorSpec(cfg.predictor, P, D), new Rng(3)));
  return [1, 3].flatMap((T) => {
    const z = randn([300, T, P, D]);
    const shape = `B300 T${T} P${P} D${D}`;
    return [
      { op: 'predictor forward', shape, kernel: 'fns', fast: () => pred.forward(fastFns, z), ref: () => pred.forward(tensorFns, z) },
      { op: 'predictor forward (fused attention)', shape, kernel: 'fns+attention', fast: () => pred.forward(fusedFns, z), ref: () => pred.forward(tensorFns, z) },
    ];
  });
}

async function median(fn: () => unknown): Promise<number> {
  const b = new Bench({ time: 150, iterations: 3, warmupTime: 30, warmupIterations: 2 });
  b.add('x', fn as () => void);
  await b.run();
  const r = b.tasks[0].result;
  if (!r || !('latency' in r)) throw new Error(`bench failed: ${JSON.stringify(r)}`);
  return r.latency.p50;
}

function cpuMedian(n: number, fn: () => unknown): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    xs.push((c.user + c.system) / 1000);
  }
  return xs.sort((p, q) => p - q)[n >> 1];
}

const ROUNDS = 3;
const mid = (x: number[]) => x.slice().sort((p, q) => p - q)[x.length >> 1];

async function measure(c: Case): Promise<Row> {
  const f: number[] = [];
  const r: number[] = [];
  const fc: number[] = [];
  const rc: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    f.push(await median(c.fast));
    r.push(await median(c.ref));
    fc.push(cpuMedian(3, c.fast));
    rc.push(cpuMedian(3, c.ref));
  }
  const fastMs = mid(f);
  const refMs = mid(r);
  const fastCpuMs = mid(fc);
  const refCpuMs = mid(rc);
  return { op: c.op, shape: c.shape, kernel: c.kernel, fastMs, refMs, ratio: refMs / fastMs, fastCpuMs, refCpuMs, cpuRatio: refCpuMs / fastCpuMs };
}

async function main(): Promise<void> {
  setThreads(1);
  useBackend('wasm');
  const only = arg('only')?.split(',');
  const all = cases().filter((c) => !only || only.some((o) => c.op.startsWith(o)));
  const rows: Row[] = [];
  console.log(`| op | shape | ref ms | fast ms | ref/fast | ref CPU ms | fast CPU ms | CPU ratio |`);
  console.log(`|---|---|---:|---:|---:|---:|---:|---:|`);
  for (const c of all) {
    const row = await measure(c);
    rows.push(row);
    const x = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
    console.log(`| ${row.op} | ${row.shape} | ${x(row.refMs)} | ${x(row.fastMs)} | ${row.ratio.toFixed(1)} | ${x(row.refCpuMs)} | ${x(row.fastCpuMs)} | ${row.cpuRatio.toFixed(1)} |`);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const path = arg('out') ?? `${here}/results/ops.json`;
  mkdirSync(dirname(path), { recursive: true });
  const meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, loadavg: loadavg(), threads: 1 };
  writeFileSync(path, JSON.stringify({ meta, rows }, null, 2) + '\n');
  console.log(`wrote ${path}`);
}

await main();
