/**
 * The live planning page (web/index.html, served by `quantwm serve`): loads the Wall world model
 * (the server's /config.json names it; a seeded random compact model when none is shipped),
 * plans DINO-WM's MPC episode in the page with CEM and draws, after every MPC iteration: the
 * environment, the goal, the executed trajectory, where the model imagines each CEM sample of the
 * last optimisation step ends (its predicted proprio embedding mapped back to a position through
 * the proprio encoder's least-squares inverse), the imagined path of the chosen plan, and, when
 * the model has a visualisation decoder, the decoded imagination of the plan's last frame. A
 * selector swaps in quantized models, quantized in the page with src/quant (RTN; W8A8 calibrates
 * its per-tensor activation ranges on a few CEM steps of the float model first).
 *
 * URL parameters: seed, variant (float | w8a8 | w4g128 | w3), samples, topk, opt (CEM steps),
 * horizon, iters (MPC iterations), threads, autorun=1. State for tests: globalThis.__qwm.
 */
import { makeEnv } from '../src/env/registry.js';
import type { Env } from '../src/env/types.js';
import { WALL_SUCCESS_DISTANCE } from '../src/env/wall.js';
import { compactConfig } from '../src/nn/compact.js';
import { initWeights } from '../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../src/nn/world-model.js';
import { cemPlan, type CemSettings } from '../src/plan/cem.js';
import { toEnvActions } from '../src/plan/mpc.js';
import type { ObjectiveSettings } from '../src/plan/objective.js';
import type { Latent, PlanningModel, Rollout } from '../src/plan/types.js';
import { browserPlatform } from '../src/platform/browser.js';
import { browserWorkers } from '../src/platform/workers-browser.js';
import { CalibrationRecorder, applyResult, quantizeTargets } from '../src/quant/model.js';
import { loadModel } from '../src/quant/model-file.js';
import type { QuantConfig } from '../src/quant/plan.js';
import { Rng } from '../src/tensor/rng.js';
import { Tensor } from '../src/tensor/tensor.js';
import { setThreads, threadCount } from '../src/tensor/threads/pool.js';

// ---- settings ------------------------------------------------------------------------------

type Variant = 'float' | 'w8a8' | 'w4g128' | 'w3';

const VARIANTS: Record<Variant, { label: string; config: Partial<QuantConfig> | null; calibrate: boolean }> = {
  float: { label: 'float32', config: null, calibrate: false },
  w8a8: { label: 'W8A8 (per-channel weights, per-tensor activations)', config: { encoder: { wbits: 8, abits: 8 }, predictor: { wbits: 8, abits: 8 }, act: 'per-tensor' }, calibrate: true },
  w4g128: { label: 'W4 group-128 (A16)', config: { encoder: { wbits: 4, abits: 16 }, predictor: { wbits: 4, abits: 16 }, groupSize: 128, groupLayout: 'row-aligned' }, calibrate: false },
  w3: { label: 'W3 (per-channel, A16)', config: { encoder: { wbits: 3, abits: 16 }, predictor: { wbits: 3, abits: 16 } }, calibrate: false },
};

const params = new URLSearchParams(location.search);
const num = (k: string, d: number): number => {
  const v = Number(params.get(k) ?? d);
  return Number.isFinite(v) && v > 0 ? v : d;
};
const CEM: CemSettings = { horizon: num('horizon', 5), samples: num('samples', 100), topk: num('topk', 10), varScale: 1, optSteps: num('opt', 5) };
const OBJ: ObjectiveSettings = { mode: 'last', alpha: 1, base: 2 }; // DINO-WM's Wall objective
const MAX_ITER = num('iters', 10);
const CALIB_SEED = 99 * 1000 + 2; // a seed no evaluation episode of the page uses

// ---- page state (read by the browser test) ---------------------------------------------------

interface EpisodeRecord {
  variant: Variant;
  seed: number;
  success: boolean;
  iterations: number;
  finalDistance: number;
}

interface PageState {
  phase: 'loading' | 'ready' | 'preparing' | 'running' | 'error';
  modelSource: string;
  threads: number;
  variant: Variant;
  episodes: EpisodeRecord[];
  /** current agent and goal, grid coordinates (x = column, y = row) */
  agent: [number, number] | null;
  goal: [number, number] | null;
  /** canvas pixels per grid cell */
  scale: number;
  lastIterMs: number;
  lastStepMs: number;
  error: string | null;
}

const S: PageState = { phase: 'loading', modelSource: '', threads: 1, variant: 'float', episodes: [], agent: null, goal: null, scale: 6, lastIterMs: 0, lastStepMs: 0, error: null };
(globalThis as { __qwm?: PageState }).__qwm = S;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  world: $<HTMLCanvasElement>('world'),
  obs: $<HTMLCanvasElement>('obs'),
  variant: $<HTMLSelectElement>('variant'),
  seed: $<HTMLInputElement>('seed'),
  run: $<HTMLButtonElement>('run'),
  stop: $<HTMLButtonElement>('stop'),
  status: $<HTMLElement>('status'),
  model: $<HTMLElement>('model'),
  successes: $<HTMLElement>('successes'),
  steptime: $<HTMLElement>('steptime'),
  settings: $<HTMLElement>('settings'),
  log: $<HTMLElement>('log'),
  dreamNote: $<HTMLElement>('dream-note'),
};

function status(text: string): void {
  ui.status.textContent = text;
}

function logLine(text: string): void {
  const li = document.createElement('li');
  li.textContent = text;
  ui.log.prepend(li);
}

const nextFrame = (): Promise<void> => new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 0)));

// ---- models ----------------------------------------------------------------------------------

let floatBytes: Uint8Array | null = null;
const models = new Map<Variant, WorldModel>();

function freshFloat(): WorldModel {
  if (floatBytes) return loadModel(floatBytes, { file: 'wall.qwm' }).model;
  // Fallback until a trained model is shipped: DINO-WM's structure at the compact size, seeded.
  const cfg = compactConfig('wall-random', { proprioDim: 2, numFrames: 1, imageSize: 64 });
  const stats = { proprioMean: Float32Array.of(32, 32), proprioStd: Float32Array.of(15, 15), actionMean: new Float32Array(2), actionStd: Float32Array.of(0.44, 0.47) };
  return new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(0)), stats);
}

async function modelFor(v: Variant): Promise<WorldModel> {
  const have = models.get(v);
  if (have) return have;
  const spec = VARIANTS[v];
  const m = freshFloat();
  if (spec.config) {
    let calib = null;
    if (spec.calibrate) {
      status(`calibrating ${spec.label}: ${CEM.optSteps} CEM steps of the float model record every Linear input...`);
      await nextFrame();
      const rec = new CalibrationRecorder(m, 512, 0);
      rec.attach();
      const env = makeEnv('wall', { imageSize: m.config.imageSize });
      const { start, goal } = env.sampleStartGoal(new Rng(CALIB_SEED));
      env.reset(goal);
      const zg = m.encode(env.observe());
      env.reset(start);
      cemPlan(m, m.encode(env.observe()), zg, CEM, OBJ, Rng.derive(CALIB_SEED, 0));
      rec.detach();
      calib = rec.inputs();
    }
    status(`quantizing: ${spec.label} (RTN, integer kernels)...`);
    await nextFrame();
    applyResult(m, quantizeTargets(m, 'rtn', spec.config, calib), 'integer');
  }
  models.set(v, m);
  return m;
}

/**
 * Position from a proprio embedding: the proprio encoder is emb = W p̂ + b with p̂ = (p - mean)/std
 * and W (Ep, 2), so p̂ = (WᵀW)⁻¹ Wᵀ (emb - b) (least squares), then p = p̂ std + mean.
 */
function proprioDecoder(m: WorldModel): (emb: Float32Array, off: number) => [number, number] {
  const W = m.proprioEncoder.weight.f32;
  const b = m.proprioEncoder.bias?.f32 ?? new Float32Array(m.proprioSize);
  const E = m.proprioSize;
  let a = 0;
  let c = 0;
  let d = 0;
  for (let i = 0; i < E; i++) {
    a += W[2 * i] * W[2 * i];
    c += W[2 * i] * W[2 * i + 1];
    d += W[2 * i + 1] * W[2 * i + 1];
  }
  const det = a * d - c * c || 1e-12;
  const { proprioMean: mu, proprioStd: sd } = m.stats;
  return (emb, off) => {
    let u = 0;
    let v = 0;
    for (let i = 0; i < E; i++) {
      const r = emb[off + i] - b[i];
      u += W[2 * i] * r;
      v += W[2 * i + 1] * r;
    }
    return [((d * u - c * v) / det) * sd[0] + mu[0], ((a * v - c * u) / det) * sd[1] + mu[1]];
  };
}

/** The model, recording the last batched rollout CEM asked for (its samples of one optimisation step). */
class Watched implements PlanningModel {
  last: { rollout: Rollout; S: number } | null = null;
  constructor(readonly m: WorldModel) {}
  get actionDim(): number {
    return this.m.actionDim;
  }
  get visualSize(): number {
    return this.m.visualSize;
  }
  get proprioSize(): number {
    return this.m.proprioSize;
  }
  encode(obs: Parameters<WorldModel['encode']>[0]): Latent {
    return this.m.encode(obs);
  }
  rollout(z0: Latent, actions: Float32Array, S: number, H: number, frames: 'all' | 'last'): Rollout {
    const r = this.m.rollout(z0, actions, S, H, frames);
    this.last = { rollout: r, S };
    return r;
  }
}

// ---- drawing ---------------------------------------------------------------------------------

interface Scene {
  env: Env;
  state: Float64Array;
  goal: Float64Array;
  trajectory: number[][];
  endpoints: [number, number][];
  imagined: [number, number][];
  obs: Uint8Array | null;
  goalObs: Uint8Array | null;
  obsSize: number;
  /** the decoded imagined last frame of the plan (side `dreamSize`), or null without a decoder */
  dream: Uint8Array | null;
  dreamSize: number;
}

function rgbToImage(rgb: Uint8Array, size: number): ImageData {
  const img = new ImageData(size, size);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    img.data[j] = rgb[i];
    img.data[j + 1] = rgb[i + 1];
    img.data[j + 2] = rgb[i + 2];
    img.data[j + 3] = 255;
  }
  return img;
}

function blit(ctx: CanvasRenderingContext2D, rgb: Uint8Array, size: number, x: number, y: number, w: number): void {
  const off = document.createElement('canvas');
  off.width = size;
  off.height = size;
  (off.getContext('2d') as CanvasRenderingContext2D).putImageData(rgbToImage(rgb, size), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, x, y, w, w);
}

function draw(sc: Scene): void {
  const n = 65; // Wall's grid
  const k = S.scale;
  const ctx = ui.world.getContext('2d') as CanvasRenderingContext2D;
  const px = (v: number): number => (v + 0.5) * k;
  // 1. the environment as the agent sees it, at its native 65-cell grid
  blit(ctx, sc.env.render(sc.state, n), n, 0, 0, n * k);
  // 2. the success region around the goal
  ctx.fillStyle = 'rgba(0, 170, 80, 0.18)';
  ctx.beginPath();
  ctx.arc(px(sc.goal[0]), px(sc.goal[1]), WALL_SUCCESS_DISTANCE * k, 0, 2 * Math.PI);
  ctx.fill();
  // 3. the executed trajectory
  ctx.strokeStyle = '#1f5fd6';
  ctx.lineWidth = 2;
  ctx.beginPath();
  sc.trajectory.forEach((p, i) => (i === 0 ? ctx.moveTo(px(p[0]), px(p[1])) : ctx.lineTo(px(p[0]), px(p[1]))));
  ctx.stroke();
  // 4. where the model imagines each CEM sample of the last step ends
  ctx.fillStyle = 'rgba(255, 140, 0, 0.55)';
  for (const [x, y] of sc.endpoints) ctx.fillRect(px(x) - 1.5, px(y) - 1.5, 3, 3);
  // 5. the imagined path of the chosen plan
  if (sc.imagined.length > 1) {
    ctx.strokeStyle = '#8e24aa';
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    sc.imagined.forEach((p, i) => (i === 0 ? ctx.moveTo(px(p[0]), px(p[1])) : ctx.lineTo(px(p[0]), px(p[1]))));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  // 6. the agent (red) and, on top, the goal (green square)
  ctx.fillStyle = '#ff0000';
  ctx.beginPath();
  ctx.arc(px(sc.state[0]), px(sc.state[1]), 5, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(px(sc.goal[0]) - 6, px(sc.goal[1]) - 6, 12, 12);
  ctx.fillStyle = '#00c040';
  ctx.fillRect(px(sc.goal[0]) - 4, px(sc.goal[1]) - 4, 8, 8);
  // what the model sees: current and goal observation
  const o = ui.obs.getContext('2d') as CanvasRenderingContext2D;
  o.fillStyle = '#ffffff';
  o.fillRect(0, 0, ui.obs.width, ui.obs.height);
  const w = ui.obs.height;
  if (sc.obs) blit(o, sc.obs, sc.obsSize, 0, 0, w);
  if (sc.goalObs) blit(o, sc.goalObs, sc.obsSize, w + 8, 0, w);
  if (sc.dream) blit(o, sc.dream, sc.dreamSize, 2 * (w + 8), 0, w);
  S.agent = [sc.state[0], sc.state[1]];
  S.goal = [sc.goal[0], sc.goal[1]];
}

function scoreboard(): void {
  const by = new Map<Variant, { n: number; ok: number }>();
  for (const e of S.episodes) {
    const s = by.get(e.variant) ?? { n: 0, ok: 0 };
    s.n++;
    if (e.success) s.ok++;
    by.set(e.variant, s);
  }
  ui.successes.textContent = [...by].map(([v, s]) => `${v} ${s.ok}/${s.n}`).join('   ') || '-';
  ui.steptime.textContent = S.lastIterMs ? `${S.lastStepMs.toFixed(0)} ms per CEM step (${CEM.samples} samples, horizon ${CEM.horizon}), ${(S.lastIterMs / 1000).toFixed(2)} s per MPC iteration, ${S.threads} thread${S.threads > 1 ? 's' : ''}` : '-';
}

// ---- the MPC episode -------------------------------------------------------------------------

let stopRequested = false;

/** DINO-WM's MPC (as src/plan/mpc.ts runMpcEpisode), one iteration per animation frame. */
async function episode(v: Variant, seed: number): Promise<EpisodeRecord> {
  S.phase = 'preparing';
  const m = await modelFor(v);
  const watched = new Watched(m);
  const decode = proprioDecoder(m);
  const env = makeEnv('wall', { imageSize: m.config.imageSize });
  const { start, goal } = env.sampleStartGoal(new Rng(seed));
  env.reset(goal);
  const goalObs = env.observe();
  const zg = m.encode(goalObs);
  env.reset(start);
  let obs = env.observe();
  let z = m.encode(obs);
  const sc: Scene = { env, state: start, goal, trajectory: [[start[0], start[1]]], endpoints: [], imagined: [], obs: obs.image, goalObs: goalObs.image, obsSize: m.config.imageSize, dream: null, dreamSize: 0 };
  draw(sc);
  S.phase = 'running';
  const A = m.actionDim;
  const norm = { mean: m.stats.actionMean, std: m.stats.actionStd };
  let success = false;
  let iter = 0;
  for (; iter < MAX_ITER && !stopRequested; iter++) {
    status(`${VARIANTS[v].label}, seed ${seed}: MPC iteration ${iter + 1}/${MAX_ITER}, planning...`);
    await nextFrame();
    const t0 = performance.now();
    const { plan } = cemPlan(watched, z, zg, CEM, OBJ, Rng.derive(seed, iter));
    S.lastIterMs = performance.now() - t0;
    S.lastStepMs = S.lastIterMs / CEM.optSteps;
    const last = watched.last;
    sc.endpoints = [];
    if (last) for (let s = 0; s < last.S; s++) sc.endpoints.push(decode(last.rollout.proprio, s * m.proprioSize));
    const path = m.rollout(z, plan, 1, CEM.horizon, 'all');
    sc.imagined = [];
    for (let f = 0; f < path.frames; f++) sc.imagined.push(decode(path.proprio, f * m.proprioSize));
    if (m.decoder) {
      const V = m.visualSize;
      const img = m.decode(new Tensor('f32', [1, V], path.visual.slice((path.frames - 1) * V, path.frames * V)));
      sc.dream = img.data as Uint8Array;
      sc.dreamSize = img.shape[1];
    }
    for (let o = 0; o < plan.length; o += A) {
      for (const e of toEnvActions(plan, o, A, norm)) sc.trajectory.push([...env.step(e)]);
    }
    sc.state = env.state();
    obs = env.observe();
    z = m.encode(obs);
    sc.obs = obs.image;
    success = env.isSuccess(sc.state, goal);
    draw(sc);
    scoreboard();
    if (success) break;
  }
  return { variant: v, seed, success, iterations: Math.min(iter + 1, MAX_ITER), finalDistance: env.stateDistance(sc.state, goal) };
}

async function runClicked(): Promise<void> {
  const v = ui.variant.value as Variant;
  const seed = Math.trunc(Number(ui.seed.value));
  if (!Number.isInteger(seed) || seed < 0) return status(`seed must be a non-negative integer, got '${ui.seed.value}'`);
  stopRequested = false;
  ui.run.disabled = true;
  ui.variant.disabled = true;
  ui.stop.disabled = false;
  S.variant = v;
  try {
    const r = await episode(v, seed);
    S.episodes.push(r);
    scoreboard();
    const verdict = r.success ? `reached the goal in ${r.iterations} MPC iteration${r.iterations > 1 ? 's' : ''}` : stopRequested ? 'stopped' : `did not reach the goal in ${r.iterations} iterations`;
    logLine(`${VARIANTS[v].label}, seed ${seed}: ${verdict} (final distance ${r.finalDistance.toFixed(2)}, success within ${WALL_SUCCESS_DISTANCE})`);
    status(`done: ${verdict}`);
    S.phase = 'ready';
  } catch (e) {
    S.phase = 'error';
    S.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    status(`error: ${S.error}`);
  } finally {
    ui.run.disabled = false;
    ui.variant.disabled = false;
    ui.stop.disabled = true;
  }
}

// ---- start-up --------------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const [k, v] of Object.entries(VARIANTS)) {
    const o = document.createElement('option');
    o.value = k;
    o.textContent = v.label;
    ui.variant.append(o);
  }
  const want = params.get('variant');
  if (want && want in VARIANTS) ui.variant.value = want;
  ui.seed.value = String(Math.trunc(num('seed', 1)));
  ui.settings.textContent = `CEM: ${CEM.samples} samples, top ${CEM.topk}, ${CEM.optSteps} steps, horizon ${CEM.horizon}; MPC: up to ${MAX_ITER} iterations; objective: final-frame latent MSE (alpha ${OBJ.alpha})`;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const want2 = Math.min(4, Math.max(1, num('threads', Math.min(4, navigator.hardwareConcurrency || 1))));
  S.threads = isolated && want2 > 1 ? setThreads(want2, browserWorkers) : 1;
  const cfg = (await (await fetch('/config.json')).json()) as { weights: string | null };
  if (cfg.weights) {
    status(`loading ${cfg.weights}...`);
    floatBytes = await browserPlatform().readFile(cfg.weights);
    S.modelSource = `${cfg.weights} (${(floatBytes.length / 1e6).toFixed(2)} MB)`;
  } else {
    S.modelSource = 'random-init compact model (no weights/wall.qwm shipped yet): it will not reach goals';
  }
  const m = await modelFor('float');
  S.threads = threadCount();
  ui.model.textContent = `${S.modelSource}: ${m.config.name}, image ${m.config.imageSize} px, encoder dim ${m.config.encoder.dim}; kernels on ${S.threads} thread${S.threads > 1 ? 's' : ''}${isolated ? '' : ' (page not cross-origin isolated: single-thread fallback)'}`;
  ui.run.onclick = () => void runClicked();
  ui.stop.onclick = () => {
    stopRequested = true;
  };
  // a first frame: start and goal of the chosen seed
  const env = makeEnv('wall', { imageSize: m.config.imageSize });
  const sg = env.sampleStartGoal(new Rng(Number(ui.seed.value)));
  draw({ env, state: sg.start, goal: sg.goal, trajectory: [[sg.start[0], sg.start[1]]], endpoints: [], imagined: [], obs: null, goalObs: null, obsSize: m.config.imageSize, dream: null, dreamSize: 0 });
  ui.dreamNote.textContent = m.decoder ? 'decoded imagination: the plan\'s last imagined frame through the visualisation decoder' : 'this model has no visualisation decoder: no decoded imagination';
  S.phase = 'ready';
  status('ready: choose a model and a seed, then plan');
  ui.run.disabled = false;
  if (params.get('autorun') === '1') void runClicked();
}

main().catch((e: unknown) => {
  S.phase = 'error';
  S.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  status(`error: ${S.error}`);
});
