/**
 * The runtime benchmark's workload, web-standard only (it runs under Node, Deno, Bun and in a
 * page): f32 GEMM through the library's matmul (the wasm kernel behind the backend seam) at two
 * shapes, and one CEM optimisation step (100 samples x horizon 5: sampling, the batched world
 * model rollout, the objective) of the compact Wall model at 1 and 2 threads. Times are wall
 * clock, median of `reps` runs after one warm-up. Weights are a seeded random init of the
 * shipped model's architecture: the cost does not depend on the weight values.
 */
import { makeEnv } from '../../src/env/registry.js';
import { compactConfig } from '../../src/nn/compact.js';
import { initWeights } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import { cemPlan } from '../../src/plan/cem.js';
import { matmul } from '../../src/tensor/ops/matmul.js';
import { Rng } from '../../src/tensor/rng.js';
import { setThreads, shutdownThreads } from '../../src/tensor/threads/pool.js';
import type { WorkerFactory } from '../../src/tensor/threads/types.js';

export interface BenchRow {
  runtime: string;
  threads: number;
  what: string;
  shape: string;
  ms: number;
  /** GFLOP/s for GEMM rows, CEM samples per second for CEM rows */
  rate: number;
  unit: 'GFLOP/s' | 'samples/s';
  reps: number;
}

export const GEMM_SHAPES: readonly [number, number, number][] = [
  [256, 256, 256],
  [1600, 84, 336], // predictor fc1 of one 100-sample CEM step: (S x P) rows, D -> mlpDim
];

export const CEM_STEP = { horizon: 5, samples: 100, topk: 10, varScale: 1, optSteps: 1 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function time(f: () => void, reps: number): Promise<number> {
  f(); // warm-up: kernel compilation, heap growth, worker start
  await new Promise((ok) => setTimeout(ok, 50));
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
    await new Promise((ok) => setTimeout(ok, 0)); // let a page breathe between runs
  }
  return median(ts);
}

/** Run the workload at each thread count; `workers` null = single-threaded only. */
export async function runWorkload(runtime: string, workers: WorkerFactory | null, threadCounts: readonly number[] = [1, 2], reps = 5): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const rng = new Rng(1);
  const cfg = compactConfig('wall-bench', { proprioDim: 2, numFrames: 1, imageSize: 64 });
  const stats = { proprioMean: Float32Array.of(32, 32), proprioStd: Float32Array.of(15, 15), actionMean: new Float32Array(2), actionStd: Float32Array.of(0.44, 0.47) };
  const m = new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(0)), stats);
  const env = makeEnv('wall', { imageSize: 64 });
  const { start, goal } = env.sampleStartGoal(new Rng(3));
  env.reset(goal);
  const zg = m.encode(env.observe());
  env.reset(start);
  const z0 = m.encode(env.observe());
  const obj = { mode: 'last' as const, alpha: 1, base: 2 };
  for (const n of threadCounts) {
    const threads = n > 1 && workers ? setThreads(n, workers) : setThreads(1);
    if (threads !== n) continue; // e.g. a page without cross-origin isolation: no threads
    if (n > 1) await new Promise((ok) => setTimeout(ok, 300)); // Web Workers start asynchronously
    for (const [M, K, N] of GEMM_SHAPES) {
      const a = rng.normalTensor([M, K]);
      const b = rng.normalTensor([K, N]);
      const ms = await time(() => void matmul(a, b), reps * 4);
      rows.push({ runtime, threads, what: 'gemm f32 (matmul)', shape: `${M}x${K}x${N}`, ms, rate: (2 * M * N * K) / (ms * 1e6), unit: 'GFLOP/s', reps: reps * 4 });
    }
    let seed = 0;
    const ms = await time(() => void cemPlan(m, z0, zg, CEM_STEP, obj, new Rng(seed++)), reps);
    rows.push({ runtime, threads, what: 'CEM step (compact Wall model)', shape: `S${CEM_STEP.samples} H${CEM_STEP.horizon}`, ms, rate: CEM_STEP.samples / (ms / 1000), unit: 'samples/s', reps });
  }
  shutdownThreads();
  return rows;
}
