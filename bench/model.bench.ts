/**
 * `npm run bench:model`: full-size DINO-WM forwards (dinowm-vits14, random weights) against
 * onnxruntime-web running the same model as one ONNX graph (bench/ort-vit.ts), at 1 and 2 threads:
 *
 *   encoder 224  one 224 px image, 16x16 patches + CLS = 257 tokens (DINOv2 ViT-S/14 at 224)
 *   encoder 196  one 196 px image, 14x14 + CLS = 197 tokens (DINO-WM's encoder input)
 *   predictor    3 frames x 196 patches x 404 (DINO-WM's predictor, num_hist 3, frame-causal mask)
 *
 * each f32 and int8: ours = src/quant quantizeTargets(model, 'rtn', W8A8 per-token activations,
 * per-channel weights) + applyResult(..., 'integer') (int8 GEMM kernels, activations quantized per
 * token on the fly); ORT = every Linear as com.microsoft DynamicQuantizeMatMul (uint8 activations
 * quantized per tensor inside the op, int8 per-channel weights), the rest f32.
 *
 * Ours is the library as shipped: the layers' Fns (`tensorFns`, src/nn/fn.ts: SIMD GELU, LayerNorm,
 * softmax, fused attention) and the SIMD GEMMs; ORT is onnxruntime-web 1.30 (WASM SIMD) with
 * graphOptimizationLevel 'all' on the graph of bench/ort-vit.ts.
 *
 *   npm run bench:model                          # threads 1 and 2, everything
 *   npm run bench:model -- --threads 1 --only encoder --out /tmp/m.json
 *
 * Timing: per row both implementations are measured alternately in ROUNDS rounds (tinybench,
 * 3 calls after one warm-up call; the median of the round medians), so load drifting over the run
 * hits both. At 1 thread the table also gives the median process CPU time per call, which
 * other processes on the shared cores do not inflate. Each thread count runs in its own child
 * process (onnxruntime-web fixes its thread count at initialisation). Each side times one forward
 * as a caller sees it: ours from a (1, 3, S, S) / (1, T, P, D) Tensor to the output Tensor; ORT
 * session.run with that Float32Array as the feed. The table also reports max |ours - ORT| (f32:
 * float32 reassociation; int8: the two quantization schemes differ).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { dinowmVits14, type WorldModelConfig } from '../src/nn/config.js';
import { tensorFns } from '../src/nn/fn.js';
import type { ParamSpec, WeightMap } from '../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../src/nn/world-model.js';
import { applyResult, quantizeTargets } from '../src/quant/model.js';
import { nodeWorkers } from '../src/platform/workers-node.js';
import { setThreads } from '../src/tensor/threads/pool.js';
import { Tensor } from '../src/tensor/tensor.js';
import { encoderOnnx, predictorOnnx, type OrtPrecision } from './ort-vit.js';
import { ort } from './ort-models.js';

const ROUNDS = 2;
const CALLS = 3;

export interface Row {
  case: string;
  shape: string;
  threads: number;
  precision: OrtPrecision;
  /** median wall-clock ms per call */
  oursMs: number;
  ortMs: number;
  /** median process CPU ms per call (user + system, all threads) */
  oursCpuMs: number;
  ortCpuMs: number;
  /** max |ours - ORT| over the output, and max |output| */
  maxDiffOrt: number;
  maxAbs: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---- model ---------------------------------------------------------------------------------------

/**
 * Weights with initWeights' scales without its truncated normals (10 s for 42M values): uniform of
 * std 0.02 (xorshift32) for Linear/pos/CLS, LayerNorm gammas 1, betas 0, LayerScale 0.1. Shared by
 * both input sizes.
 */
function benchWeights(spec: ParamSpec, seed: number): WeightMap {
  let s = seed >>> 0 || 1;
  const w: WeightMap = new Map();
  for (const [name, shape, kind] of spec) {
    const t = new Tensor('f32', shape);
    const d = t.f32;
    if (kind === 'ones') d.fill(1);
    else if (kind === 'ls') d.fill(0.1);
    else if (kind !== 'zeros') {
      for (let i = 0; i < d.length; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        d[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 0.02 * 2 * Math.sqrt(3);
      }
    }
    w.set(name, t);
  }
  return w;
}

const STATS = { proprioMean: new Float32Array(4), proprioStd: new Float32Array(4).fill(1), actionMean: new Float32Array(2), actionStd: new Float32Array(2).fill(1) };

/** The model at an encoder input size; weights shared, except the predictor's pos embedding (T·P rows). */
function model(inputSize: number, w: WeightMap): WorldModel {
  const base = dinowmVits14(4, 3);
  const c: WorldModelConfig = { ...base, name: `dinowm-vits14@${inputSize}`, imageSize: Math.max(224, inputSize), encoder: { ...base.encoder, inputSize } };
  const own = new Map(w);
  const spec = worldModelSpec(c).find(([n]) => n === 'predictor.pos_embedding');
  if (spec && (w.get(spec[0])?.size ?? 0) !== spec[1].reduce((a, b) => a * b, 1)) own.set(spec[0], benchWeights([spec], inputSize).get(spec[0]) as Tensor<'f32'>);
  return new WorldModel(c, own, STATS);
}

function quantize(m: WorldModel): void {
  const res = quantizeTargets(m, 'rtn', { encoder: { wbits: 8, abits: 8 }, predictor: { wbits: 8, abits: 8 }, act: 'per-token' }, null);
  applyResult(m, res, 'integer');
}

// ---- timing -------------------------------------------------------------------------------------

type Fn = () => Promise<Float32Array> | Float32Array;

/** Median wall and CPU ms of CALLS calls (tinybench), after one warm-up call. */
async function measure(fn: Fn): Promise<[number, number]> {
  await fn();
  const cpu: number[] = [];
  const b = new Bench({ iterations: CALLS, time: 0, warmupIterations: 0, warmupTime: 0 });
  b.add('x', async () => {
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  });
  await b.run();
  const r = b.tasks[0].result;
  if (!r || !('latency' in r)) throw new Error(`bench failed: ${JSON.stringify(r)}`);
  return [r.latency.p50, mid(cpu)];
}

function mid(x: number[]): number {
  const s = [...x].sort((p, q) => p - q);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Case {
  name: string;
  shape: string;
  ours: Fn;
  ort: Fn;
}

async function runCase(c: Case, threads: number, precision: OrtPrecision): Promise<Row> {
  const yo = await c.ours();
  const yr = await c.ort();
  const t: Record<'ours' | 'ort', [number[], number[]]> = { ours: [[], []], ort: [[], []] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of ['ours', 'ort'] as const) {
      const [w, cpu] = await measure(c[k]);
      t[k][0].push(w);
      t[k][1].push(cpu);
    }
  }
  const row: Row = {
    case: c.name,
    shape: c.shape,
    threads,
    precision,
    oursMs: mid(t.ours[0]),
    ortMs: mid(t.ort[0]),
    oursCpuMs: mid(t.ours[1]),
    ortCpuMs: mid(t.ort[1]),
    maxDiffOrt: maxDiff(yo, yr),
    maxAbs: yo.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
  };
  console.error(`  ${row.case} ${precision}: ours ${row.oursMs.toFixed(0)} ms (cpu ${row.oursCpuMs.toFixed(0)}), ORT ${row.ortMs.toFixed(0)} (cpu ${row.ortCpuMs.toFixed(0)}); max|ours-ORT| ${row.maxDiffOrt.toExponential(2)}`);
  return row;
}

async function ortFn(model: Uint8Array, input: string, data: Float32Array, dims: number[]): Promise<Fn> {
  const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
  const feed = { [input]: new ort.Tensor('float32', data, dims) };
  return async () => {
    const out = await s.run(feed);
    const y = (out.Y.data as Float32Array).slice();
    out.Y.dispose();
    return y;
  };
}

/** Deterministic inputs: an image in [-1, 1], latents of unit scale. */
function pattern(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

async function child(threads: number, only: string[] | null): Promise<Row[]> {
  ort.env.wasm.numThreads = threads;
  setThreads(threads, nodeWorkers);
  const want = (name: string): boolean => !only || only.some((o) => name.startsWith(o));
  const w = benchWeights(worldModelSpec(dinowmVits14(4, 3)), 20240613);
  const models = new Map<number, WorldModel>();
  for (const S of [224, 196]) if (want(`encoder ${S}`) || (S === 196 && want('predictor'))) models.set(S, model(S, w));
  const rows: Row[] = [];
  for (const precision of ['f32', 'int8'] as const) {
    if (precision === 'int8') for (const m of models.values()) quantize(m);
    for (const S of [224, 196]) {
      const name = `encoder ${S}`;
      const m = models.get(S);
      if (!m || !want(name)) continue;
      const x = new Tensor('f32', [1, 3, S, S], pattern(3 * S * S, (i) => Math.sin(i * 0.013) * 0.9));
      rows.push(
        await runCase(
          {
            name,
            shape: `1x3x${S}x${S} -> ${(S / 14) ** 2 + 1} tokens x 384`,
            ours: () => m.encoder.forward(tensorFns, x).f32,
            ort: await ortFn(encoderOnnx(m.encoder, precision), 'x', x.f32, [1, 3, S, S]),
          },
          threads,
          precision,
        ),
      );
    }
    const m = models.get(196);
    if (m && want('predictor')) {
      const T = 3;
      const N = T * m.P;
      const z = new Tensor('f32', [1, T, m.P, m.D], pattern(N * m.D, (i) => Math.sin(i * 0.37) * 1.5));
      rows.push(
        await runCase(
          {
            name: 'predictor',
            shape: `1x${T}x${m.P}x${m.D} (${N} tokens, frame-causal)`,
            ours: () => m.predictor.forward(tensorFns, z).f32,
            ort: await ortFn(predictorOnnx(m.predictor, T, precision), 'z', z.f32, [1, N, m.D]),
          },
          threads,
          precision,
        ),
      );
    }
  }
  return rows;
}

function table(rows: Row[]): string {
  const out = [
    '| case | threads | precision | ours ms | ORT ms | ORT / ours | ours CPU ms | ORT CPU ms | ORT / ours (CPU) | max abs(ours - ORT) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.case} | ${r.threads} | ${r.precision} | ${r.oursMs.toFixed(0)} | ${r.ortMs.toFixed(0)} | ${(r.ortMs / r.oursMs).toFixed(2)}x | ${r.oursCpuMs.toFixed(0)} | ${r.ortCpuMs.toFixed(0)} | ${(r.ortCpuMs / r.oursCpuMs).toFixed(2)}x | ${r.maxDiffOrt.toExponential(1)} |`,
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const only = arg('only')?.split(',') ?? null;
  if (process.argv.includes('--child')) {
    const rows = await child(Number(arg('threads') ?? '1'), only);
    process.stdout.write(JSON.stringify(rows));
    process.exit(0);
  }
  const threadList = (arg('threads') ?? '1,2').split(',').map(Number);
  const rows: Row[] = [];
  const self = fileURLToPath(import.meta.url);
  const started = new Date().toISOString();
  const load0 = loadavg();
  for (const t of threadList) {
    console.error(`threads ${t}:`);
    const extra = only ? ['--only', only.join(',')] : [];
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', '--threads', String(t), ...extra], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`child for threads ${t} failed with status ${r.status}`);
    rows.push(...(JSON.parse(r.stdout) as Row[]));
  }
  console.log(table(rows));
  const out = arg('out') ?? 'bench/results/model.json';
  mkdirSync(dirname(out), { recursive: true });
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, ort: ort.env.versions.common, loadavgStart: load0, loadavgEnd: loadavg() };
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const commit = git.status === 0 ? git.stdout.trim() : null;
  writeFileSync(out, JSON.stringify({ bench: 'model', started, finished: new Date().toISOString(), commit, machine, rounds: ROUNDS, calls: CALLS, rows }, null, 1) + '\n');
  console.error(`wrote ${out}`);
}

await main();
