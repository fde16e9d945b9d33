/**
 * `npm run bench:model`: full-size DINO-WM forwards (dinowm-vits14, random weights) against
 * onnxruntime-web (WASM) and onnxruntime-node (native CPU) running the same model as one ONNX
 * graph (bench/ort-vit.ts), at 1 and 2 threads:
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
 * softmax, fused attention) and the SIMD GEMMs; "web" is onnxruntime-web 1.30 (WASM SIMD) with
 * graphOptimizationLevel 'all' on the graph of bench/ort-vit.ts; "node" is onnxruntime-node 1.30
 * on the same graph bytes (bench/ort-node.ts: native CPU EP, intraOpNumThreads = the thread count,
 * sequential execution, graphOptimizationLevel 'all'; its MLAS kernels use AVX2/AVX-512 where the
 * CPU has them).
 *
 *   npm run bench:model                          # threads 1 and 2, everything, one run
 *   npm run bench:model -- --runs 2              # two runs; rows = per-row medians, runsRows = raw
 *   npm run bench:model -- --threads 1 --only encoder --out /tmp/m.json
 *
 * Timing: per row the three implementations are measured alternately in ROUNDS rounds (tinybench,
 * 3 calls after one warm-up call; the median of the round medians), so load drifting over the run
 * hits all three. The table also gives the median process CPU time per call (all threads of the
 * process, so it includes onnxruntime-node's native pool), which other processes on the shared
 * cores do not inflate at 1 thread. Each thread count runs in its own child process
 * (onnxruntime-web fixes its thread count at initialisation). Each side times one forward as a
 * caller sees it: ours from a (1, 3, S, S) / (1, T, P, D) Tensor to the output Tensor; ORT
 * session.run with that Float32Array as the feed. The table also reports max |ours - ORT| for
 * both runtimes (f32: float32 reassociation; int8: the two quantization schemes differ).
 */
import { spawnSync } from 'node:child_process';
import { runChild } from './child.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import type { WorldModelConfig } from '../src/nn/config.js';
import { tensorFns } from '../src/nn/fn.js';
import type { WeightMap } from '../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../src/nn/world-model.js';
import { applyResult, quantizeTargets } from '../src/quant/model.js';
import { nodeWorkers } from '../src/platform/workers-node.js';
import { setThreads } from '../src/tensor/threads/pool.js';
import { Tensor } from '../src/tensor/tensor.js';
import { encoderOnnx, predictorOnnx, type OrtPrecision } from './ort-vit.js';
import { ort } from './ort-models.js';
import { ortNode, ortNodeSession } from './ort-node.js';
import { fullSizeConfig, uniformWeights, unitStats } from '../test/nn/full-size.js';

const ROUNDS = 2;
const CALLS = 3;
/**
 * Untimed calls per implementation before a row's rounds. onnxruntime-web's first calls run V8's
 * baseline (Liftoff) code while its optimising tier compiles in the background, and that compile
 * time counts as process CPU: encoder 196 f32 took 731 ms CPU on its first call, 330-354 ms on
 * calls 2-6 (1 thread). Three calls give every runtime its steady state.
 */
const WARMUP = 3;

export interface Row {
  case: string;
  shape: string;
  threads: number;
  precision: OrtPrecision;
  /** median wall-clock ms per call (ort = onnxruntime-web, node = onnxruntime-node) */
  oursMs: number;
  ortMs: number;
  nodeMs: number;
  /** median process CPU ms per call (user + system, all threads) */
  oursCpuMs: number;
  ortCpuMs: number;
  nodeCpuMs: number;
  /** max |ours - ORT web| and max |ours - ORT node| over the output, and max |output| */
  maxDiffOrt: number;
  maxDiffNode: number;
  maxAbs: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---- model ---------------------------------------------------------------------------------------

/** The model at an encoder input size; weights shared, except the predictor's pos embedding (T·P rows). */
function model(inputSize: number, w: WeightMap): WorldModel {
  const base = fullSizeConfig();
  const c: WorldModelConfig = { ...base, name: `dinowm-vits14@${inputSize}`, imageSize: Math.max(224, inputSize), encoder: { ...base.encoder, inputSize } };
  const own = new Map(w);
  const spec = worldModelSpec(c).find(([n]) => n === 'predictor.pos_embedding');
  if (spec && (w.get(spec[0])?.size ?? 0) !== spec[1].reduce((a, b) => a * b, 1)) own.set(spec[0], uniformWeights([spec], inputSize).get(spec[0]) as Tensor<'f32'>);
  return new WorldModel(c, own, unitStats());
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
  node: Fn;
}

async function runCase(c: Case, threads: number, precision: OrtPrecision): Promise<Row> {
  const yo = await c.ours();
  const yr = await c.ort();
  const yn = await c.node();
  for (let i = 1; i < WARMUP; i++) for (const k of ['ours', 'ort', 'node'] as const) await c[k]();
  const t: Record<'ours' | 'ort' | 'node', [number[], number[]]> = { ours: [[], []], ort: [[], []], node: [[], []] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of ['ours', 'ort', 'node'] as const) {
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
    nodeMs: mid(t.node[0]),
    oursCpuMs: mid(t.ours[1]),
    ortCpuMs: mid(t.ort[1]),
    nodeCpuMs: mid(t.node[1]),
    maxDiffOrt: maxDiff(yo, yr),
    maxDiffNode: maxDiff(yo, yn),
    maxAbs: yo.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
  };
  console.error(
    `  ${row.case} ${precision}: ours ${row.oursMs.toFixed(0)} ms (cpu ${row.oursCpuMs.toFixed(0)}), web ${row.ortMs.toFixed(0)} (cpu ${row.ortCpuMs.toFixed(0)}), node ${row.nodeMs.toFixed(0)} (cpu ${row.nodeCpuMs.toFixed(0)}); max|ours-web| ${row.maxDiffOrt.toExponential(2)}, max|ours-node| ${row.maxDiffNode.toExponential(2)}`,
  );
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

/** The same graph on onnxruntime-node's native CPU EP with `threads` intra-op threads. */
async function ortNodeFn(model: Uint8Array, input: string, data: Float32Array, dims: number[], threads: number): Promise<Fn> {
  const s = await ortNodeSession(model, threads);
  const feed = { [input]: new ortNode.Tensor('float32', data, dims) };
  return async () => {
    const out = await s.run(feed);
    return (out.Y.data as Float32Array).slice();
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
  const w = uniformWeights(worldModelSpec(fullSizeConfig()), 20240613);
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
      const graph = encoderOnnx(m.encoder, precision);
      rows.push(
        await runCase(
          {
            name,
            shape: `1x3x${S}x${S} -> ${(S / 14) ** 2 + 1} tokens x 384`,
            ours: () => m.encoder.forward(tensorFns, x).f32,
            ort: await ortFn(graph, 'x', x.f32, [1, 3, S, S]),
            node: await ortNodeFn(graph, 'x', x.f32, [1, 3, S, S], threads),
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
      const graph = predictorOnnx(m.predictor, T, precision);
      rows.push(
        await runCase(
          {
            name: 'predictor',
            shape: `1x${T}x${m.P}x${m.D} (${N} tokens, frame-causal)`,
            ours: () => m.predictor.forward(tensorFns, z).f32,
            ort: await ortFn(graph, 'z', z.f32, [1, N, m.D]),
            node: await ortNodeFn(graph, 'z', z.f32, [1, N, m.D], threads),
          },
          threads,
          precision,
        ),
      );
    }
  }
  return rows;
}

/**
 * Markdown table; ratios are time ratios ours / runtime (below 1: ours is faster). The issue's
 * targets in these terms: ours / web <= 0.67 (1.5x faster than onnxruntime-web) and
 * ours / node <= 2 (within 2x of native).
 */
function table(rows: Row[]): string {
  const out = [
    '| case | threads | precision | ours ms | web ms | node ms | ours / web | ours / node | ours CPU ms | web CPU ms | node CPU ms | ours / web (CPU) | ours / node (CPU) | max abs(ours - web) | max abs(ours - node) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const f = (x: number): string => x.toFixed(0);
  const q = (a: number, b: number): string => `${(a / b).toFixed(2)}`;
  for (const r of rows) {
    out.push(
      `| ${r.case} | ${r.threads} | ${r.precision} | ${f(r.oursMs)} | ${f(r.ortMs)} | ${f(r.nodeMs)} | ${q(r.oursMs, r.ortMs)} | ${q(r.oursMs, r.nodeMs)} | ${f(r.oursCpuMs)} | ${f(r.ortCpuMs)} | ${f(r.nodeCpuMs)} | ${q(r.oursCpuMs, r.ortCpuMs)} | ${q(r.oursCpuMs, r.nodeCpuMs)} | ${r.maxDiffOrt.toExponential(1)} | ${r.maxDiffNode.toExponential(1)} |`,
    );
  }
  return out.join('\n');
}

const TIMES = ['oursMs', 'ortMs', 'nodeMs', 'oursCpuMs', 'ortCpuMs', 'nodeCpuMs'] as const;

/** Per row (same case, threads, precision in every run), the median of each timing over the runs. */
function medianRows(runs: Row[][]): Row[] {
  return runs[0].map((r, i) => {
    const same = runs.map((rs) => rs[i]);
    for (const x of same) if (x.case !== r.case || x.threads !== r.threads || x.precision !== r.precision) throw new Error(`run rows differ at ${i}`);
    const m: Row = { ...r };
    for (const k of TIMES) m[k] = mid(same.map((x) => x[k]));
    return m;
  });
}

async function main(): Promise<void> {
  const only = arg('only')?.split(',') ?? null;
  if (process.argv.includes('--child')) {
    const rows = await child(Number(arg('threads') ?? '1'), only);
    process.stdout.write(JSON.stringify(rows));
    process.exit(0);
  }
  const threadList = (arg('threads') ?? '1,2').split(',').map(Number);
  const runs = Number(arg('runs') ?? '1');
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs must be a positive integer, got ${arg('runs')}`);
  const runsRows: Row[][] = [];
  const self = fileURLToPath(import.meta.url);
  const started = new Date().toISOString();
  const load0 = loadavg();
  const loads: number[][] = [];
  for (let run = 0; run < runs; run++) {
    const rows: Row[] = [];
    for (const t of threadList) {
      console.error(`run ${run + 1}/${runs}, threads ${t} (load ${loadavg()[0].toFixed(1)}):`);
      loads.push(loadavg());
      const extra = only ? ['--only', only.join(',')] : [];
      rows.push(...runChild<Row>(self, t, extra));
    }
    runsRows.push(rows);
  }
  const rows = medianRows(runsRows);
  console.log(table(rows));
  const out = arg('out') ?? 'bench/results/model.json';
  mkdirSync(dirname(out), { recursive: true });
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    ort: ort.env.versions.common,
    ortNode: ortNode.env.versions.node ?? null,
    loadavgStart: load0,
    loadavgPerChild: loads,
    loadavgEnd: loadavg(),
  };
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const commit = git.status === 0 ? git.stdout.trim() : null;
  writeFileSync(out, JSON.stringify({ bench: 'model', started, finished: new Date().toISOString(), commit, machine, rounds: ROUNDS, calls: CALLS, warmup: WARMUP, runs, rows, runsRows }, null, 1) + '\n');
  console.error(`wrote ${out}`);
}

await main();
