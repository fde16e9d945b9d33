/**
 * `npm run bench:quant`: model forward on the float path against the integer paths of src/quant
 * (W8A8, W4A16, W4A8), 1 and 2 threads, and the sizes of float, 8-bit and 4-bit model files.
 *
 *   npm run bench:quant                       # everything; writes bench/results/quant.json
 *   npm run bench:quant -- --append           # a second run: appended to the runs in the JSON,
 *                                             # the table printed is the median over the runs
 *   npm run bench:quant -- --quick --out /tmp/q.json    # compact model only, fewer iterations
 *
 * Models (random weights, initWeights seed 1: timing and file layout do not depend on training;
 * DEFLATE ratios of the files do a little, see `bodyBytes`):
 * - full:    dinowmVits14(proprioDim 2, numFrames 3): encoder on one 196-px image (1, 3, 196, 196)
 *            (the encoder proper, without the 224 -> 196 resize), predictor on (1, 3, 196, 404).
 * - compact: compactConfig(proprioDim 2, numFrames 3): encoder on (1, 3, 64, 64), predictor on
 *            (1, 3, 16, 84); and compactConfig('compact-wall', numFrames 1), one CEM-sized
 *            rollout WorldModel.rollout(z0, actions, 300 samples, 5 steps, 'last').
 *
 * Variants, all RTN (QuantWM's min-max, symmetric int weights, asymmetric uint8 activations),
 * applied with applyResult(model, result, 'integer'):
 * - float:        our f32 path (packed-weight SIMD GEMM)
 * - w8a8-token:   int8 per-channel weights, dynamic per-token uint8 activations (no calibration)
 * - w8a8-tensor:  int8 per-channel weights, static per-tensor uint8 activations, calibrated by a
 *                 CalibrationRecorder on a few forwards of the float model (fused gemmI8Static:
 *                 the quant_rows kernel with the calibrated (s, z), then the int8 GEMM)
 * - w4a16-gG-row: int4 groups of G = 32 / 128 restarting at every row (the int4 kernels' layout)
 * - w4a8-gG-row:  the same weights, per-token uint8 activations
 * - w4a16-gG-flat: QuantWM's flat layout (W.reshape(-1, G)): where groups straddle rows
 *                 (in_features not a multiple of G) IntegerLinear re-expresses them as row-aligned
 *                 sub-groups of gcd(in, G) (4 for the predictor's 404 / 84) on the same kernels
 * - w4a8-gG-flat:  the same weights, per-token uint8 activations
 * Each row lists the path each Linear took (IntegerLinear.kind; fallback reasons in the JSON).
 *
 * Timing: per case 1 warm-up call then ITER calls (tinybench, wall-clock median) and the median
 * process CPU time of the same calls (all threads summed). The machine is shared, so 1-thread
 * CPU time is the figure other processes do not inflate; 2-thread wall time is what a user sees
 * and is only meaningful when a second core is free (load average recorded per row).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resetLinears } from './linears.js';
import { timeCalls } from './timing.js';
import { compactConfig } from '../src/nn/compact.js';
import { dinowmVits14, numPatches, tokenDim, type WorldModelConfig } from '../src/nn/config.js';
import { tensorFns } from '../src/nn/fn.js';
import { saveWorldModel } from '../src/nn/model-file.js';
import { initWeights } from '../src/nn/weights.js';
import { WorldModel, worldModelSpec, type NormStats } from '../src/nn/world-model.js';
import { nodeWorkers } from '../src/platform/workers-node.js';
import type { IntegerLinear } from '../src/quant/integer-linear.js';
import { saveQuantizedModel } from '../src/quant/model-file.js';
import { CalibrationRecorder, applyResult, quantizeTargets } from '../src/quant/model.js';
import type { MethodResult, QuantConfig } from '../src/quant/plan.js';
import { Rng } from '../src/tensor/rng.js';
import { Tensor } from '../src/tensor/tensor.js';
import { setThreads, shutdownThreads } from '../src/tensor/threads/pool.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

function gitHead(): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return r.stdout.trim() || '?';
}

/** Does the inference Fns (src/nn/fn.ts) run the fast non-GEMM kernels of src/tensor/fast? */
function fastWired(): boolean {
  return readFileSync(`${ROOT}/src/nn/fn.ts`, 'utf8').includes('tensor/fast/');
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const QUICK = flag('quick');
const OUT = arg('out') ?? `${ROOT}/bench/results/quant.json`;
const THREADS = (arg('threads') ?? '1,2').split(',').map(Number);

type ModelName = 'full' | 'compact';
type Part = 'encoder' | 'predictor' | 'rollout';

export interface Variant {
  name: string;
  /** null: the float model */
  config: Partial<QuantConfig> | null;
  calibrate: boolean;
}

const w = (wbits: number, abits: number) => ({ encoder: { wbits, abits }, predictor: { wbits, abits } });
export const VARIANTS: Variant[] = [
  { name: 'float', config: null, calibrate: false },
  { name: 'w8a8-token', config: { ...w(8, 8), act: 'per-token' }, calibrate: false },
  { name: 'w8a8-tensor', config: { ...w(8, 8), act: 'per-tensor' }, calibrate: true },
  ...[32, 128].flatMap((g): Variant[] => [
    { name: `w4a16-g${g}-row`, config: { ...w(4, 16), groupSize: g, groupLayout: 'row-aligned' }, calibrate: false },
    { name: `w4a8-g${g}-row`, config: { ...w(4, 8), groupSize: g, groupLayout: 'row-aligned', act: 'per-token' }, calibrate: false },
    { name: `w4a16-g${g}-flat`, config: { ...w(4, 16), groupSize: g, groupLayout: 'flat' }, calibrate: false },
    { name: `w4a8-g${g}-flat`, config: { ...w(4, 8), groupSize: g, groupLayout: 'flat', act: 'per-token' }, calibrate: false },
  ]),
];

export interface Row {
  model: ModelName;
  part: Part;
  variant: string;
  threads: number;
  /** median wall-clock ms per call */
  ms: number;
  /** median process CPU ms per call (all threads) */
  cpuMs: number;
  /** float ms / this ms at the same model, part, threads (wall and CPU) */
  speedup: number;
  cpuSpeedup: number;
  /** Linears of this part by IntegerLinear.kind ('f32' for float) */
  paths: Record<string, number>;
  load1: number;
}

export interface FileRow {
  model: ModelName;
  variant: string;
  /** bytes of the .qwm file (DEFLATE level 6) */
  fileBytes: number;
  /** msgpack body before DEFLATE (what the tensors occupy) */
  bodyBytes: number;
  /** fileBytes / the float file's */
  ratio: number;
  bodyRatio: number;
}

export interface Run {
  date: string;
  node: string;
  cpu: string;
  /** git HEAD and whether src/nn/fn.ts (working tree) runs the fast non-GEMM kernels */
  head: string;
  fastOps: boolean;
  rows: Row[];
  files: FileRow[];
  /** per model and variant: fallback reason -> number of Linears */
  reasons: Record<string, Record<string, number>>;
}

function stats(c: WorldModelConfig): NormStats {
  return { proprioMean: new Float32Array(c.proprioDim), proprioStd: new Float32Array(c.proprioDim).fill(1), actionMean: new Float32Array(c.envActionDim), actionStd: new Float32Array(c.envActionDim).fill(1) };
}

function makeModel(c: WorldModelConfig, seed: number): WorldModel {
  return new WorldModel(c, initWeights(worldModelSpec(c), new Rng(seed)), stats(c));
}

function randn(rng: Rng, shape: number[], scale = 1): Tensor<'f32'> {
  const t = new Tensor('f32', shape);
  for (let i = 0; i < t.f32.length; i++) t.f32[i] = scale * rng.normal();
  return t;
}

/** Linear kinds per module. */
function pathsOf(m: WorldModel, module: 'encoder' | 'predictor'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of m.linears()) {
    if (l.module !== module) continue;
    const k = l.linear.impl ? l.linear.impl.kind : 'f32';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function reasonsOf(m: WorldModel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of m.linears()) {
    const impl = l.linear.impl as IntegerLinear | null;
    if (impl?.reason) {
      const k = `${l.module} ${l.role}: ${impl.reason}`;
      out[k] = (out[k] ?? 0) + 1;
    }
  }
  return out;
}


interface Case {
  model: ModelName;
  part: Part;
  wm: WorldModel;
  module: 'encoder' | 'predictor';
  run: () => unknown;
  iters: number;
  /** forwards of the float model that feed a CalibrationRecorder */
  calibrate: () => void;
}

function casesFor(name: ModelName, quick: boolean): { wm: WorldModel; cases: Case[]; rolloutWm: WorldModel | null } {
  const c = name === 'full' ? dinowmVits14(2, 3) : compactConfig('compact', { proprioDim: 2, numFrames: 3 });
  const wm = makeModel(c, 1);
  const rng = new Rng(7);
  const S = c.encoder.inputSize;
  const P = numPatches(c.encoder);
  const D = tokenDim(c);
  const img = randn(rng, [1, 3, S, S], 0.5);
  const z = randn(rng, [1, 3, P, D]);
  const iters = quick ? 2 : name === 'full' ? 5 : 20;
  const enc = () => wm.encoder.forward(tensorFns, img);
  const pred = () => wm.predictor.forward(tensorFns, z);
  const calib = () => {
    for (let i = 0; i < 2; i++) wm.encoder.forward(tensorFns, randn(rng, [1, 3, S, S], 0.5));
    wm.predictor.forward(tensorFns, randn(rng, [2, 3, P, D]));
  };
  const cases: Case[] = [
    { model: name, part: 'encoder', wm, module: 'encoder', run: enc, iters, calibrate: calib },
    { model: name, part: 'predictor', wm, module: 'predictor', run: pred, iters, calibrate: calib },
  ];
  let rolloutWm: WorldModel | null = null;
  if (name === 'compact') {
    const cw = compactConfig('compact-wall', { proprioDim: 2, numFrames: 1 });
    const rw = makeModel(cw, 2);
    rolloutWm = rw;
    const img8 = new Uint8Array(cw.imageSize * cw.imageSize * 3).map(() => rng.int(256));
    const z0 = rw.encode({ image: img8, proprio: Float32Array.of(0.3, -0.2) });
    const Sx = 300;
    const H = 5;
    const actions = randn(rng, [Sx, H, rw.actionDim]).f32;
    const calibActions = randn(rng, [30, H, rw.actionDim]).f32;
    cases.push({
      model: name,
      part: 'rollout',
      wm: rw,
      module: 'predictor',
      run: () => rw.rollout(z0, actions, Sx, H, 'last'),
      iters: quick ? 2 : 5,
      calibrate: () => {
        rw.encode({ image: img8, proprio: Float32Array.of(0.3, -0.2) });
        rw.rollout(z0, calibActions, 30, H, 'last');
      },
    });
  }
  return { wm, cases, rolloutWm };
}

function quantize(wm: WorldModel, v: Variant, calibrate: (() => void) | null): MethodResult {
  let calib = null;
  if (v.calibrate) {
    const rec = new CalibrationRecorder(wm, 256, 3);
    rec.attach();
    calibrate?.();
    rec.detach();
    calib = rec.inputs();
  }
  return quantizeTargets(wm, 'rtn', v.config as Partial<QuantConfig>, calib);
}

function load1(): number {
  return loadavg()[0];
}

async function measure(quick: boolean, models: ModelName[]): Promise<Run> {
  const threadsOk = setThreads(Math.max(...THREADS), nodeWorkers);
  if (threadsOk < Math.max(...THREADS)) console.error(`note: only ${threadsOk} thread(s) available`);
  const rows: Row[] = [];
  const files: FileRow[] = [];
  const reasons: Record<string, Record<string, number>> = {};
  for (const name of models) {
    const { wm, cases } = casesFor(name, quick);
    // group cases by the model they run on (the rollout uses its own Wall model)
    const byModel = new Map<WorldModel, Case[]>();
    for (const c of cases) byModel.set(c.wm, [...(byModel.get(c.wm) ?? []), c]);
    const floatMs = new Map<string, { ms: number; cpuMs: number }>();
    for (const v of VARIANTS) {
      for (const [m, cs] of byModel) {
        resetLinears(m);
        if (v.config) {
          const t0 = performance.now();
          let res: MethodResult;
          try {
            res = quantize(m, v, () => cs[0].calibrate());
          } catch (e) {
            // e.g. QuantWM's flat groups that do not tile a weight (its W.reshape(-1, G) fails too)
            const msg = `not applicable: ${(e as Error).message}`;
            console.error(`  ${name} ${v.name}: ${m.config.name} ${msg}`);
            (reasons[`${name} ${v.name}`] ??= {})[`${m.config.name}: ${msg}`] = 1;
            continue;
          }
          applyResult(m, res, 'integer');
          console.error(`  ${name} ${v.name}: quantized ${m.config.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          if (m === wm) reasons[`${name} ${v.name}`] = { ...reasons[`${name} ${v.name}`], ...reasonsOf(m) };
        }
        for (const c of cs) {
          for (const th of THREADS) {
            setThreads(th);
            const t = await timeCalls(c.run, c.iters);
            const key = `${c.part}/${th}`;
            if (!v.config) floatMs.set(key, t);
            const f = floatMs.get(key)!;
            const row: Row = { model: name, part: c.part, variant: v.name, threads: th, ms: t.ms, cpuMs: t.cpuMs, speedup: f.ms / t.ms, cpuSpeedup: f.cpuMs / t.cpuMs, paths: pathsOf(m, c.module), load1: load1() };
            rows.push(row);
            console.error(`  ${name} ${c.part.padEnd(9)} ${v.name.padEnd(15)} t${th} ${t.ms.toFixed(1).padStart(8)} ms (cpu ${t.cpuMs.toFixed(1)}) x${row.speedup.toFixed(2)} (cpu x${row.cpuSpeedup.toFixed(2)}) ${JSON.stringify(row.paths)} load ${row.load1.toFixed(1)}`);
          }
        }
      }
    }
    for (const m of byModel.keys()) resetLinears(m);
    files.push(...fileSizes(name, wm));
  }
  shutdownThreads();
  return { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? '?', head: gitHead(), fastOps: fastWired(), rows, files, reasons };
}

const FILE_VARIANTS = ['float', 'w8a8-token', 'w4a16-g32-row', 'w4a16-g128-row', 'w4a16-g32-flat', 'w4a16-g128-flat'];

function bodyLength(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(16, true));
}

function fileSizes(name: ModelName, wm: WorldModel): FileRow[] {
  const out: FileRow[] = [];
  let f32 = 0;
  let f32Body = 0;
  for (const vn of FILE_VARIANTS) {
    const v = VARIANTS.find((x) => x.name === vn)!;
    let bytes: Uint8Array;
    try {
      bytes = v.config ? saveQuantizedModel(wm, quantizeTargets(wm, 'rtn', v.config, null)) : saveWorldModel(wm);
    } catch (e) {
      console.error(`  ${name} file ${vn}: not applicable: ${(e as Error).message}`);
      continue;
    }
    const body = bodyLength(bytes);
    if (!v.config) {
      f32 = bytes.length;
      f32Body = body;
    }
    const label = vn === 'float' ? 'float' : vn === 'w8a8-token' ? 'w8 per-channel' : vn.replace('w4a16', 'w4');
    const row: FileRow = { model: name, variant: label, fileBytes: bytes.length, bodyBytes: body, ratio: bytes.length / f32, bodyRatio: body / f32Body };
    out.push(row);
    console.error(`  ${name} file ${label.padEnd(14)} ${(bytes.length / 1e6).toFixed(3)} MB (${row.ratio.toFixed(3)}x), body ${(body / 1e6).toFixed(3)} MB (${row.bodyRatio.toFixed(3)}x)`);
  }
  return out;
}

// ---- medians over runs and the printed table ------------------------------------------------

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export function medianRows(runs: Run[]): Row[] {
  const key = (r: Row) => `${r.model}|${r.part}|${r.variant}|${r.threads}`;
  const groups = new Map<string, Row[]>();
  for (const run of runs) for (const r of run.rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const out: Row[] = [];
  for (const rs of groups.values()) {
    const ms = median(rs.map((r) => r.ms));
    const cpuMs = median(rs.map((r) => r.cpuMs));
    out.push({ ...rs[0], ms, cpuMs, load1: median(rs.map((r) => r.load1)), speedup: NaN, cpuSpeedup: NaN });
  }
  for (const r of out) {
    const f = out.find((x) => x.model === r.model && x.part === r.part && x.threads === r.threads && x.variant === 'float');
    if (f) {
      r.speedup = f.ms / r.ms;
      r.cpuSpeedup = f.cpuMs / r.cpuMs;
    }
  }
  return out;
}

function pathsText(p: Record<string, number>): string {
  const short: Record<string, string> = { f32: 'f32', 'w8a8-int8-gemm': 'int8', 'w4a8-int4-gemm': 'w4a8', 'w4a16-int4-gemm': 'w4a16', 'dequant-f32': 'Ŵ-f32' };
  return Object.entries(p)
    .map(([k, n]) => `${n} ${short[k] ?? k}`)
    .join(', ');
}

export function table(rows: Row[], files: FileRow[]): string {
  const lines: string[] = [];
  const ths = [...new Set(rows.map((r) => r.threads))].sort();
  for (const model of ['full', 'compact'] as const) {
    for (const part of ['encoder', 'predictor', 'rollout'] as const) {
      const rs = rows.filter((r) => r.model === model && r.part === part);
      if (!rs.length) continue;
      lines.push(`\n${model} ${part}`);
      lines.push(`| variant | ${ths.map((t) => `${t} thr ms (×f32) | ${t} thr CPU ms (×f32)`).join(' | ')} | Linears |`);
      lines.push(`|---|${ths.map(() => '---|---').join('|')}|---|`);
      for (const v of VARIANTS) {
        const cells = ths.map((t) => {
          const r = rs.find((x) => x.variant === v.name && x.threads === t);
          return r ? `${r.ms.toFixed(1)} (${r.speedup.toFixed(2)}×) | ${r.cpuMs.toFixed(1)} (${r.cpuSpeedup.toFixed(2)}×)` : '- | -';
        });
        const any = rs.find((x) => x.variant === v.name);
        if (any) lines.push(`| ${v.name} | ${cells.join(' | ')} | ${pathsText(any.paths)} |`);
      }
    }
  }
  if (files.length) {
    lines.push('\nfiles (RTN, random weights)');
    lines.push('| model | weights | file MB | ×f32 | body MB (before DEFLATE) | ×f32 |');
    lines.push('|---|---|---|---|---|---|');
    for (const f of files) lines.push(`| ${f.model} | ${f.variant} | ${(f.fileBytes / 1e6).toFixed(2)} | ${f.ratio.toFixed(3)} | ${(f.bodyBytes / 1e6).toFixed(2)} | ${f.bodyRatio.toFixed(3)} |`);
  }
  return lines.join('\n');
}

/**
 * Target verdicts. The encoder target is judged on 1-thread process CPU time (other processes on
 * the shared cores inflate wall time, not CPU time); 2-thread wall-clock ratios are printed beside
 * it with the load average, as indications only.
 */
export function targets(rows: Row[], files: FileRow[]): string[] {
  const out: string[] = [];
  const enc = (v: string, t: number) => rows.find((x) => x.model === 'full' && x.part === 'encoder' && x.variant === v && x.threads === t);
  for (const v of ['w8a8-token', 'w8a8-tensor']) {
    const r1 = enc(v, 1);
    const r2 = enc(v, 2);
    if (!r1) continue;
    const wall2 = r2 ? `; 2 threads wall ${r2.ms.toFixed(0)} ms = ${r2.speedup.toFixed(2)}× (load ${r2.load1.toFixed(1)}, indicative)` : '';
    out.push(`W8A8 (${v}) full encoder: ${r1.cpuMs.toFixed(0)} ms vs f32 ${(r1.cpuMs * r1.cpuSpeedup).toFixed(0)} ms CPU, 1 thread = ${r1.cpuSpeedup.toFixed(2)}×: target >= 1.5× ${r1.cpuSpeedup >= 1.5 ? 'MET' : 'NOT met'}${wall2}`);
  }
  for (const f of files.filter((x) => x.model === 'full' && x.variant.startsWith('w4'))) {
    out.push(`4-bit file (full, ${f.variant}): ${f.ratio.toFixed(3)}× the f32 file (body ${f.bodyRatio.toFixed(3)}×): target <= 0.16× ${f.ratio <= 0.16 ? 'MET' : 'NOT met'}`);
  }
  return out;
}

async function main(): Promise<void> {
  const models: ModelName[] = QUICK ? ['compact'] : ((arg('models')?.split(',') as ModelName[] | undefined) ?? ['compact', 'full']);
  const run = await measure(QUICK, models);
  let runs: Run[] = [run];
  if (flag('append') && existsSync(OUT)) {
    const prev = JSON.parse(readFileSync(OUT, 'utf8')) as { runs: Run[] };
    runs = [...prev.runs, run];
  }
  const rows = medianRows(runs);
  const files = run.files;
  const t = targets(rows, files);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ command: 'npm run bench:quant', note: `medians over ${runs.length} run(s)`, median: rows, files, targets: t, runs }, null, 1));
  const why = Object.entries(run.reasons)
    .filter(([, r]) => Object.keys(r).length)
    .map(([k, r]) => `${k}:\n${Object.entries(r).map(([m, n]) => `  ${n} x ${m}`).join('\n')}`)
    .join('\n');
  console.log(`bench:quant, median over ${runs.length} run(s)${table(rows, files)}\n\nfallbacks:\n${why}\n\n${t.join('\n')}\nwrote ${OUT}`);
}

await main();
