import { ShapeError, ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { mseVec } from './metrics.js';
import type { ActionNorm, Latent, PlanEnv, PlanningModel } from './types.js';

/**
 * A planner for one MPC iteration: given the current and goal latents, return a plan of
 * (horizon, actionDim) normalised actions and the planning loss of each optimisation step.
 */
export interface Planner {
  readonly horizon: number;
  plan(z0: Latent, goal: Latent, rng: Rng): { plan: Float32Array; lossPerStep: number[] };
}

export interface MpcSettings {
  /** MPC iterations (Wall and PointMaze 50, PushT 30); 1 = open-loop */
  maxIter: number;
}

export interface EpisodeResult {
  success: boolean;
  /** MPC iteration (1-based) at whose end the goal was first reached, or 0 */
  successIter: number;
  /** success_by_iter[i]: reached within i+1 iterations (sticky) */
  successByIter: boolean[];
  /** env state at first success, or after the last iteration */
  finalState: Float64Array;
  finalStateDist: number;
  /** MSE between the latent of the final real observation and the goal latent */
  visualDist: number;
  proprioDist: number;
  /** MSE between the model's prediction of the last executed plan and the encoding of what happened */
  divVisual: number;
  divProprio: number;
  /** best-sample objective per optimisation step, per MPC iteration */
  planLoss: number[][];
  /** executed normalised world-model actions, (iterations * horizon, actionDim) */
  actions: Float32Array;
}

/**
 * Map a normalised world-model action (frameskip * envActionDim) to frameskip env actions:
 * env = a * std + mean per env dimension (DINO-WM's denormalisation and "(f d) -> f d" split).
 */
export function toEnvActions(a: Float32Array, off: number, A: number, norm: ActionNorm): Float64Array[] {
  const d = norm.mean.length;
  if (A % d !== 0) throw new ShapeError('toEnvActions', `action dim ${A} is not a multiple of env action dim ${d}`);
  const out: Float64Array[] = [];
  for (let f = 0; f < A / d; f++) {
    const e = new Float64Array(d);
    for (let j = 0; j < d; j++) e[j] = a[off + f * d + j] * norm.std[j] + norm.mean[j];
    out.push(e);
  }
  return out;
}

/** Reset to `start` and execute every planned world-model action; returns the final state. */
export function replayPlan(env: PlanEnv, start: Float64Array, actions: Float32Array, A: number, norm: ActionNorm): Float64Array {
  env.reset(start);
  for (let o = 0; o < actions.length; o += A) for (const e of toEnvActions(actions, o, A, norm)) env.step(e);
  return env.state();
}

/**
 * DINO-WM's MPC for one episode (reference/quantwm-dinowm-spec.md C.3): plan, execute the whole plan,
 * replay every executed action from the initial state, check success at the end; success is sticky.
 * The episode ends at its first success (the reference then holds still with zero actions, which
 * changes none of the recorded metrics, all taken at first success) or after maxIter iterations.
 * @param rngFor noise stream for MPC iteration `iter`, derived from the episode seed by the caller
 */
export function runMpcEpisode(
  env: PlanEnv,
  model: PlanningModel,
  planner: Planner,
  norm: ActionNorm,
  start: Float64Array,
  goal: Float64Array,
  settings: MpcSettings,
  rngFor: (iter: number) => Rng,
): EpisodeResult {
  if (!Number.isInteger(settings.maxIter) || settings.maxIter < 1) {
    throw new ValueError('mpc', `maxIter must be a positive integer, got ${settings.maxIter}`);
  }
  const A = model.actionDim;
  const H = planner.horizon;
  env.reset(goal);
  const zg = model.encode(env.observe());
  env.reset(start);
  let z = model.encode(env.observe());
  const executed: Float32Array[] = [];
  const successByIter: boolean[] = [];
  const planLoss: number[][] = [];
  let successIter = 0;
  let lastPlan: Float32Array = new Float32Array(H * A);
  let zBefore = z;
  let state = start;
  for (let iter = 0; iter < settings.maxIter; iter++) {
    const { plan, lossPerStep } = planner.plan(z, zg, rngFor(iter));
    planLoss.push(lossPerStep);
    executed.push(plan);
    lastPlan = plan;
    zBefore = z;
    state = replayPlan(env, start, concat(executed), A, norm);
    z = model.encode(env.observe());
    const ok = env.isSuccess(state, goal);
    successByIter.push(ok);
    if (ok) {
      successIter = iter + 1;
      break;
    }
  }
  // pad the success curve: success is sticky
  while (successByIter.length < settings.maxIter) successByIter.push(successIter > 0);
  const pred = model.rollout(zBefore, lastPlan, 1, H, 'last');
  return {
    success: successIter > 0,
    successIter,
    successByIter,
    finalState: state,
    finalStateDist: env.stateDistance(state, goal),
    visualDist: mseVec(z.visual, zg.visual),
    proprioDist: mseVec(z.proprio, zg.proprio),
    divVisual: mseVec(pred.visual, z.visual),
    divProprio: mseVec(pred.proprio, z.proprio),
    planLoss,
    actions: concat(executed),
  };
}

function concat(xs: Float32Array[]): Float32Array {
  let n = 0;
  for (const x of xs) n += x.length;
  const out = new Float32Array(n);
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}
