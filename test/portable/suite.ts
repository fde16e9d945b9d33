/**
 * The portable suite: one runtime-neutral program (web-standard APIs only) that exercises the
 * library end to end and hashes every output with SHA-256, so Node, Deno, Bun and browsers can
 * be compared bit for bit. Entry points: ./main.ts (Node, Deno, Bun) and ./browser.ts (a page).
 *
 * Sections (each output is one named SHA-256; each check is pass/fail with a detail):
 *   kernels  every catalog kernel (src/tensor/wasm/catalog.ts) at 2 shapes x 2 seeds: run vs its
 *            TypeScript twin within the entry's budget; the emitted module bytes
 *   math     the library's deterministic exp/log/tanh/pow/erf and sin/cos/atan2 on a grid
 *   ops      softmax, GELU, LayerNorm, matmul (the wasm GEMM behind the seam), resize
 *   env      Wall: seeded start/goal, 20 steps, a render and its PNG bytes
 *   model    a seeded compact world model: encode + rollout, checked against the committed
 *            golden output (test/fixtures/portable/forward.bin)
 *   quant    RTN W8A8 per-token, W4A16 g8, W8A8 per-tensor (calibrated): integer forward, and
 *            the quantized .qwm file bytes
 *   plan     a short CEM plan (float and W8A8 models) and one MPC iteration on Wall
 *
 * `info` holds values that are NOT expected to agree across engines (Math.exp and friends, and
 * `**` with a non-integer base, which ECMAScript leaves implementation-approximated): the suite
 * reports them, never asserts. docs/runtimes.md lists what differed.
 */
import { makeEnv } from '../../src/env/registry.js';
import { encodePng } from '../../src/env/render/png.js';
import { atan2, cos, sin } from '../../src/env/trig.js';
import { compactConfig } from '../../src/nn/compact.js';
import { initWeights } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import { cemPlan } from '../../src/plan/cem.js';
import { runMpcEpisode } from '../../src/plan/mpc.js';
import { CemPlanner } from '../../src/plan/planners.js';
import type { Latent, Observation } from '../../src/plan/types.js';
import { CalibrationRecorder, applyResult, quantizeTargets } from '../../src/quant/model.js';
import { saveQuantizedModel } from '../../src/quant/model-file.js';
import type { QuantConfig } from '../../src/quant/plan.js';
import { backend } from '../../src/tensor/backend.js';
import * as dmath from '../../src/tensor/math.js';
import { gelu } from '../../src/tensor/ops/activation.js';
import { matmul } from '../../src/tensor/ops/matmul.js';
import { layerNorm } from '../../src/tensor/ops/norm.js';
import { resizeImage } from '../../src/tensor/ops/resize.js';
import { softmax } from '../../src/tensor/ops/softmax.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { poolStats, setMinParallelWork, setThreads, shutdownThreads, threadCount } from '../../src/tensor/threads/pool.js';
import type { WorkerFactory } from '../../src/tensor/threads/types.js';
import { KERNELS, kernelName } from '../../src/tensor/wasm/catalog.js';
import { emitKernelBytes } from '../../src/tensor/wasm/compile.js';
import { heap } from '../../src/tensor/wasm/heap.js';
import { hasRelaxedSimd } from '../../src/tensor/wasm/probe.js';
import type { KernelEntry, KernelOutput } from '../../src/tensor/wasm/spec.js';

export interface SuiteHost {
  /** 'node' | 'deno' | 'bun' | 'chromium' ... (reported only) */
  readonly runtime: string;
  /** Bytes of a file in test/fixtures/portable/. */
  readFixture(name: string): Promise<Uint8Array>;
  /** Worker factory for kernel threads, or null for single-threaded. */
  readonly workers: WorkerFactory | null;
  /** Threads to request (the count in effect is reported: 1 without shared memory). */
  readonly threads: number;
  /** Progress lines (optional). */
  log?(line: string): void;
}

export interface SuiteOutput {
  readonly section: string;
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface SuiteCheck {
  readonly section: string;
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SuiteReport {
  readonly runtime: string;
  readonly userAgent: string;
  /** threads in effect for the kernels (1 = the single-thread fallback) */
  readonly threads: number;
  /** kernel tasks the worker threads ran (0 when single-threaded): proof the workers worked */
  readonly workerTasks: number;
  readonly sharedMemory: boolean;
  readonly backend: string;
  readonly relaxedSimd: boolean;
  readonly outputs: SuiteOutput[];
  readonly checks: SuiteCheck[];
  /** SHA-256 over every output hash in order: one string to compare runtimes by */
  readonly combined: string;
  /** engine-dependent values, reported and never compared */
  readonly info: Record<string, string>;
  readonly seconds: number;
}

/** The tiny compact model of the suite (and of the golden fixture). */
export const PORTABLE_MODEL = { imageSize: 32, patchSize: 8, dim: 16, numFrames: 2, initSeed: 7 } as const;

/** Rollout of the model section: S samples, H steps, frames 'all'. */
const FWD = { S: 3, H: 3, seed: 21 } as const;

/**
 * Golden budget for the model forward: |got - golden| <= 1e-3 * max(1, |golden|). The forward
 * is ~20 float32 layers with K <= 432; each GEMM/LayerNorm adds at most ~K * 2^-24 ≈ 2.6e-5
 * relative, so a legitimate change of summation order or kernel stays ~10x below the budget,
 * while a wrong op (a missing scale, a transposed weight) moves outputs by >= 1e-2.
 */
export const FORWARD_BUDGET = 1e-3;

function hex(b: ArrayBuffer): string {
  return Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Little-endian bytes of a typed array (the engines here are all little-endian; checked). */
function bytesOf(a: ArrayBufferView): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.byteLength);
  out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return out;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

/** Concatenate float arrays as one Float32Array (the golden layout). */
function cat32(parts: Float32Array[]): Float32Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

class Recorder {
  readonly outputs: SuiteOutput[] = [];
  readonly checks: SuiteCheck[] = [];
  section = '';
  constructor(private readonly log?: (line: string) => void) {}
  async out(name: string, data: ArrayBufferView | string): Promise<void> {
    const b = typeof data === 'string' ? new TextEncoder().encode(data) : bytesOf(data);
    this.outputs.push({ section: this.section, name, bytes: b.length, sha256: await sha256(b as Uint8Array<ArrayBuffer>) });
  }
  check(name: string, ok: boolean, detail: string): void {
    this.checks.push({ section: this.section, name, ok, detail });
    if (!ok) this.log?.(`FAIL ${this.section}/${name}: ${detail}`);
  }
}

// ---- sections ------------------------------------------------------------------------------

/** Memory import fixed for the byte hashes (the runtime's own heap import may differ in size). */
const EMIT_CTX = { memory: { module: 'env', name: 'memory', initial: 1, maximum: 65536, shared: true } };

function firstBad(e: KernelEntry<any>, input: unknown, ref: KernelOutput, got: KernelOutput): number {
  if (ref.length !== got.length) return 0;
  for (let i = 0; i < ref.length; i++) {
    const tol = e.tolerance(input, i);
    const ok = tol === 0 ? Object.is(ref[i], got[i]) : Math.abs(ref[i] - got[i]) <= tol;
    if (!ok) return i;
  }
  return -1;
}

async function kernels(r: Recorder): Promise<void> {
  r.section = 'kernels';
  for (const e of KERNELS) {
    const name = kernelName(e.spec);
    await r.out(`${name}/module`, emitKernelBytes(e.spec, e.emit, EMIT_CTX).bytes);
    const tile = e.dims;
    const shapes = [Object.fromEntries(Object.entries(tile).map(([k, v]) => [k, v + 1])), Object.fromEntries(Object.entries(tile).map(([k, v]) => [k, 2 * v + 1]))];
    for (const dims of shapes) {
      for (const seed of [1, 2]) {
        const label = `${name}/${Object.entries(dims).map(([k, v]) => `${k}${v}`).join('_')}/s${seed}`;
        const input = e.make(dims, seed);
        const ref = e.ref(input);
        const got = e.run(input);
        const i = firstBad(e, input, ref, got);
        r.check(label, i < 0, i < 0 ? `within ${e.budget}` : `index ${i}: reference ${ref[i]}, kernel ${got[i]}, budget ${e.tolerance(input, i)}`);
        await r.out(label, got);
      }
    }
  }
}

async function math(r: Recorder, info: Record<string, string>): Promise<void> {
  r.section = 'math';
  const rng = new Rng(3);
  const n = 4096;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = (rng.uniform() * 2 - 1) * 2 ** (rng.int(24) - 12);
  const pos = x.map(Math.abs);
  const fns: [string, (v: number, i: number) => number][] = [
    ['exp', (v) => dmath.exp(v * 40)],
    ['log', (_, i) => dmath.log(pos[i])],
    ['tanh', (v) => dmath.tanh(v * 8)],
    ['pow', (v, i) => dmath.pow(pos[i], v)],
    ['erf', (v) => dmath.erf(v * 4)],
    ['sin', (v) => sin(v * 100)],
    ['cos', (v) => cos(v * 100)],
    ['atan2', (v, i) => atan2(v, x[(i * 7 + 1) % n])],
  ];
  for (const [name, f] of fns) {
    const y = Float64Array.from(x, f);
    r.check(name, y.every((v, i) => !Number.isNaN(v) || Number.isNaN(x[i])), 'no NaN on finite inputs');
    await r.out(name, y);
  }
  // Engine Math.*: reported, never compared (ECMAScript does not pin their last bit).
  for (const [name, f] of [['Math.exp', (v: number) => Math.exp(v * 40)], ['Math.sin', (v: number) => Math.sin(v * 100)], ['Math.pow', (v: number) => Math.pow(1.0001, v * 1e4)]] as const) {
    info[name] = (await sha256(bytesOf(Float64Array.from(x, f)))).slice(0, 16);
  }
  // `b ** t`, as AdamW's bias corrections 1 - beta^t compute it (src/tensor/autograd/optim.ts)
  const powT = new Float64Array(20000);
  for (let t = 0; t < 10000; t++) {
    powT[t] = 0.9 ** (t + 1);
    powT[10000 + t] = 0.999 ** (t + 1);
  }
  info['beta ** t'] = (await sha256(bytesOf(powT))).slice(0, 16);
}

async function ops(r: Recorder): Promise<void> {
  r.section = 'ops';
  const rng = new Rng(5);
  const x = rng.normalTensor([7, 33], 0, 3);
  const mask = new Tensor('u8', [7, 33], Uint8Array.from({ length: 7 * 33 }, (_, i) => (i % 33 === 0 || rng.uniform() < 0.7 ? 1 : 0)));
  await r.out('softmax', softmax(x, -1).f32);
  await r.out('softmax-masked', softmax(x, -1, mask).f32);
  await r.out('gelu', gelu(x).f32);
  await r.out('layerNorm', layerNorm(x, rng.normalTensor([33]), rng.normalTensor([33]), 1e-6).f32);
  const a = rng.normalTensor([37, 129]);
  const b = rng.normalTensor([129, 45]);
  await r.out('matmul', matmul(a, b).f32);
  const img = rng.uniformTensor([1, 3, 40, 40], -1, 1);
  await r.out('resize-bilinear-aa', resizeImage(img, [28, 28], { mode: 'bilinear', antialias: true }).f32);
}

async function env(r: Recorder): Promise<void> {
  r.section = 'env';
  const e = makeEnv('wall', { imageSize: 32 });
  const { start, goal } = e.sampleStartGoal(new Rng(11));
  e.reset(start);
  const rng = new Rng(12);
  const traj: number[] = [];
  for (let t = 0; t < 20; t++) traj.push(...e.step([rng.normal() * 2, rng.normal() * 2]));
  await r.out('start-goal', Float64Array.of(...start, ...goal));
  await r.out('trajectory', Float64Array.from(traj));
  const img = e.render(e.state(), 64);
  await r.out('render64', img);
  await r.out('png', encodePng(img, 64, 64));
}

function portableModel(): WorldModel {
  const m = PORTABLE_MODEL;
  const cfg = compactConfig('portable', { proprioDim: 2, numFrames: m.numFrames, imageSize: m.imageSize, patchSize: m.patchSize, dim: m.dim });
  const stats = { proprioMean: Float32Array.of(32, 32), proprioStd: Float32Array.of(16, 16), actionMean: new Float32Array(2), actionStd: Float32Array.of(2, 2) };
  return new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(m.initSeed)), stats);
}

function wallObs(seed: number): { obs: Observation; goal: Observation; start: Float64Array; goalState: Float64Array } {
  const e = makeEnv('wall', { imageSize: PORTABLE_MODEL.imageSize });
  const { start, goal } = e.sampleStartGoal(new Rng(seed));
  e.reset(goal);
  const g = e.observe();
  e.reset(start);
  return { obs: e.observe(), goal: g, start, goalState: goal };
}

function fwdActions(m: WorldModel): Float32Array {
  const rng = new Rng(FWD.seed);
  return Float32Array.from({ length: FWD.S * FWD.H * m.actionDim }, () => rng.normal());
}

/** The model section's output, laid out as the golden file: z0.visual, z0.proprio, rollout visual, rollout proprio. */
export function forwardOutput(m: WorldModel): Float32Array {
  const { obs } = wallObs(11);
  const z0 = m.encode(obs);
  const ro = m.rollout(z0, fwdActions(m), FWD.S, FWD.H, 'all');
  return cat32([z0.visual, z0.proprio, ro.visual, ro.proprio]);
}

/** The golden fixture's bytes (written by `tsx test/portable/main.ts --write-golden`). */
export function goldenBytes(): Uint8Array {
  return bytesOf(forwardOutput(portableModel()));
}

async function model(r: Recorder, golden: Uint8Array): Promise<Float32Array> {
  r.section = 'model';
  const y = forwardOutput(portableModel());
  await r.out('encode+rollout', y);
  if (golden.byteLength !== y.byteLength) {
    r.check('golden', false, `golden has ${golden.byteLength} bytes, forward ${y.byteLength}`);
    return y;
  }
  const g = new Float32Array(bytesOf(golden).buffer);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < g.length; i++) {
    const e = Math.abs(y[i] - g[i]) / Math.max(1, Math.abs(g[i]));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  let same = 0;
  for (let i = 0; i < g.length; i++) if (Object.is(y[i], g[i])) same++;
  r.check('golden', worst <= FORWARD_BUDGET, `max rel. error ${worst.toExponential(2)} at ${at} (budget ${FORWARD_BUDGET}); ${same}/${g.length} values bit-identical to the golden`);
  return y;
}

/** Quantized variants: name, config, needs calibration. */
const QUANT: readonly [string, Partial<QuantConfig>][] = [
  ['W8A8 per-token', { encoder: { wbits: 8, abits: 8 }, predictor: { wbits: 8, abits: 8 }, act: 'per-token' }],
  ['W4A16 g8', { encoder: { wbits: 4, abits: 16 }, predictor: { wbits: 4, abits: 16 }, groupSize: 8, groupLayout: 'row-aligned' }],
  ['W8A8 per-tensor', { encoder: { wbits: 8, abits: 8 }, predictor: { wbits: 8, abits: 8 }, act: 'per-tensor' }],
];

/**
 * Sanity bounds on the relative L2 error of the quantized forward vs float, ~10x what was
 * measured on this model (8-bit 4.6e-4 / 4.9e-4, 4-bit g8 4.6e-3: small, since the init's
 * LayerScale 0.1 keeps the residual stream dominant). Not tight budgets: they catch a broken
 * kernel, scale or sign, which moves a block's output by O(1) and the forward by >= 1e-2.
 */
const QUANT_REL_ERR: Record<string, number> = { 'W8A8 per-token': 5e-3, 'W4A16 g8': 5e-2, 'W8A8 per-tensor': 5e-3 };

function relErr(y: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    num += (y[i] - ref[i]) * (y[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return Math.sqrt(num / den);
}

async function quant(r: Recorder, float: Float32Array): Promise<WorldModel> {
  r.section = 'quant';
  let w8: WorldModel | null = null;
  for (const [name, config] of QUANT) {
    const m = portableModel();
    let calib = null;
    if (config.act === 'per-tensor' && (config.encoder?.abits ?? 16) < 16) {
      const rec = new CalibrationRecorder(m, 128, 0);
      rec.attach();
      for (const s of [31, 32]) {
        const { obs, goal } = wallObs(s);
        const z = m.encode(obs);
        m.encode(goal);
        m.rollout(z, fwdActions(m), FWD.S, FWD.H, 'last');
      }
      rec.detach();
      calib = rec.inputs();
    }
    const res = quantizeTargets(m, 'rtn', config, calib);
    await r.out(`${name}/file`, saveQuantizedModel(m, res, { suite: 'portable' }));
    applyResult(m, res, 'integer');
    const y = forwardOutput(m);
    const e = relErr(y, float);
    r.check(`${name}/error`, e <= QUANT_REL_ERR[name], `rel. L2 error vs float ${e.toExponential(2)} (sanity bound ${QUANT_REL_ERR[name]})`);
    await r.out(`${name}/forward`, y);
    if (name === 'W8A8 per-token') w8 = m;
  }
  return w8 as WorldModel;
}

async function plan(r: Recorder, w8: WorldModel): Promise<void> {
  r.section = 'plan';
  const settings = { horizon: 3, samples: 16, topk: 4, varScale: 1, optSteps: 2 };
  const obj = { mode: 'last' as const, alpha: 1, base: 2 };
  for (const [name, m] of [['float', portableModel()], ['W8A8', w8]] as const) {
    const { obs, goal } = wallObs(41);
    const z0: Latent = m.encode(obs);
    const zg: Latent = m.encode(goal);
    const res = cemPlan(m, z0, zg, settings, obj, new Rng(42));
    await r.out(`${name}/cem-plan`, res.plan);
    await r.out(`${name}/cem-loss`, Float64Array.from(res.lossPerStep));
    r.check(`${name}/cem-loss`, res.lossPerStep.every(Number.isFinite), `losses ${res.lossPerStep.map((v) => v.toExponential(3)).join(', ')}`);
  }
  const m = portableModel();
  const e = makeEnv('wall', { imageSize: PORTABLE_MODEL.imageSize });
  const { start, goalState } = wallObs(43);
  const ep = runMpcEpisode(e, m, new CemPlanner(m, settings, obj), { mean: m.stats.actionMean, std: m.stats.actionStd }, start, goalState, { maxIter: 1 }, (it) => Rng.derive(43, it));
  await r.out('mpc/actions', ep.actions);
  await r.out('mpc/final-state', ep.finalState);
}

// ---- driver ----------------------------------------------------------------------------------

/** Run every section; never throws for a failed check (it is recorded), only for a crash. */
export async function runPortableSuite(host: SuiteHost): Promise<SuiteReport> {
  const t0 = performance.now();
  const r = new Recorder(host.log);
  const info: Record<string, string> = {};
  const little = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
  if (!little) throw new Error('portable suite: big-endian engine (the hashes assume little-endian bytes)');
  let threads = 1;
  let workerTasks = 0;
  if (host.workers && host.threads > 1) threads = setThreads(host.threads, host.workers);
  const prevMin = setMinParallelWork(threads > 1 ? 0 : 1 << 18); // thread every kernel call when threads are on
  try {
    const step = async (name: string, f: () => Promise<unknown>): Promise<void> => {
      const t = performance.now();
      await f();
      host.log?.(`${name}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
    };
    const golden = await host.readFixture('forward.bin');
    let float: Float32Array = new Float32Array(0);
    let w8: WorldModel | null = null;
    await step('kernels', () => kernels(r));
    await step('math', () => math(r, info));
    await step('ops', () => ops(r));
    await step('env', () => env(r));
    await step('model', async () => (float = await model(r, golden)));
    await step('quant', async () => (w8 = await quant(r, float)));
    await step('plan', () => plan(r, w8 as unknown as WorldModel));
    threads = threadCount();
    workerTasks = poolStats().tasksByWorkers;
  } finally {
    setMinParallelWork(prevMin);
    if (host.workers && host.threads > 1) shutdownThreads();
  }
  const combined = await sha256(new TextEncoder().encode(r.outputs.map((o) => `${o.section}/${o.name}=${o.sha256}`).join('\n')) as Uint8Array<ArrayBuffer>);
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  return {
    runtime: host.runtime,
    userAgent: nav?.userAgent ?? 'unknown',
    threads,
    workerTasks,
    sharedMemory: heap().shared,
    backend: backend().name,
    relaxedSimd: hasRelaxedSimd(),
    outputs: r.outputs,
    checks: r.checks,
    combined,
    info,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A short human summary: failures first, then the combined hash. */
export function formatReport(rep: SuiteReport): string {
  const bad = rep.checks.filter((c) => !c.ok);
  const lines = [`portable suite on ${rep.runtime} (${rep.userAgent}): threads ${rep.threads} (workers ran ${rep.workerTasks} tasks), shared memory ${rep.sharedMemory}, backend ${rep.backend}, relaxed SIMD ${rep.relaxedSimd}`];
  for (const c of bad) lines.push(`  FAIL ${c.section}/${c.name}: ${c.detail}`);
  for (const o of rep.outputs) lines.push(`  ${o.sha256}  ${o.section}/${o.name} (${o.bytes} B)`);
  lines.push(`  ${rep.checks.length - bad.length}/${rep.checks.length} checks passed; ${rep.outputs.length} outputs; combined SHA-256 ${rep.combined}; ${rep.seconds.toFixed(1)} s`);
  return lines.join('\n');
}
