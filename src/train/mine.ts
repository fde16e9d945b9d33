/**
 * Planner-mined training data: the action sequences a CEM planner picks with a given world model,
 * executed in the true environment. A model that predicts a path through a wall attracts CEM's
 * elites to exactly that error (the prototype: 4-5% of random samples are wrongly
 * predicted to cross, 32-36% of the elites); recording what those elites really do and training on
 * it teaches the model the states and pushes the planner will visit (DAgger-style data).
 *
 * Per mining episode (start/goal from `sampleEpisode(seed*n + offset)`, offset 3 by default so no
 * evaluation (1) or calibration (2) episode is mined), per MPC iteration:
 *   plan with CEM from the current observation; at every optimisation step keep the `perStep`
 *   cheapest samples; execute each of them, and the final plan, from the current state in the
 *   true env (horizon x frameskip env steps, recorded as one trajectory); then execute the plan
 *   for real (MPC) and stop at success or after `iters` iterations.
 */
import type { Dataset } from '../env/dataset/dataset.js';
import { datasetFromEpisodes, rolloutEpisode, type Episode } from '../env/dataset/generate.js';
import type { Env } from '../env/types.js';
import { cemPlan, type CemSettings } from '../plan/cem.js';
import { toEnvActions } from '../plan/mpc.js';
import type { ObjectiveSettings } from '../plan/objective.js';
import type { ActionNorm, PlanningModel } from '../plan/types.js';
import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';

export const MINE_VERSION = 1;

export interface MineOptions {
  env: Env;
  model: PlanningModel;
  norm: ActionNorm;
  cem: CemSettings;
  objective: ObjectiveSettings;
  sampleEpisode(seed: number): { start: Float64Array; goal: Float64Array };
  /** mining episodes */
  episodes: number;
  /** MPC iterations per episode at most */
  iters: number;
  /** cheapest samples recorded per CEM optimisation step */
  perStep: number;
  /** episode n uses seed*n + offset; CEM noise Rng.derive(that, iter) as the evaluator */
  seed: number;
  offset: number;
  /** recorded in the dataset's generator info (e.g. the weight file) */
  label: string;
  onProgress?: (done: number, total: number, solved: number) => void;
}

/** Execute normalised world-model actions (H, A) from `state` in the env; the recorded trajectory. */
function execute(env: Env, state: Float64Array, plan: Float32Array, A: number, norm: ActionNorm): Episode {
  const steps: Float64Array[] = [];
  for (let o = 0; o < plan.length; o += A) steps.push(...toEnvActions(plan, o, A, norm));
  return rolloutEpisode(env, state, steps.length, (_s, t) => steps[t]);
}

export function mineDataset(o: MineOptions): Dataset {
  const where = 'mineDataset';
  for (const k of ['episodes', 'iters', 'perStep'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new ValueError(where, `${k} must be a positive integer, got ${o[k]}`);
  }
  if (o.perStep > o.cem.topk) throw new ValueError(where, `perStep ${o.perStep} > CEM topk ${o.cem.topk}`);
  const { env, model, norm } = o;
  const A = model.actionDim;
  const HA = o.cem.horizon * A;
  const episodes: Episode[] = [];
  let solved = 0;
  let plans = 0;
  for (let n = 0; n < o.episodes; n++) {
    const seed = o.seed * n + o.offset;
    const { start, goal } = o.sampleEpisode(seed);
    env.reset(goal);
    const zg = model.encode(env.observe());
    let state = env.reset(start);
    for (let iter = 0; iter < o.iters; iter++) {
      env.reset(state);
      const z = model.encode(env.observe());
      const picked: Float32Array[] = [];
      const { plan } = cemPlan(model, z, zg, o.cem, o.objective, Rng.derive(seed, iter), undefined, (actions, _cost, order) => {
        for (let e = 0; e < o.perStep; e++) picked.push(actions.slice(order[e] * HA, (order[e] + 1) * HA));
      });
      plans++;
      for (const seq of picked) episodes.push(execute(env, state, seq, A, norm));
      const ep = execute(env, state, plan, A, norm);
      episodes.push(ep);
      state = env.state();
      if (env.isSuccess(state, goal)) {
        solved++;
        break;
      }
    }
    o.onProgress?.(n + 1, o.episodes, solved);
  }
  return datasetFromEpisodes(
    env,
    episodes,
    {
      name: 'quantwm data mine',
      version: MINE_VERSION,
      seed: o.seed,
      policy: 'cem-elites',
      options: { model: o.label, episodes: o.episodes, iters: o.iters, perStep: o.perStep, offset: o.offset, ...Object.fromEntries(Object.entries(o.cem).map(([k, v]) => [`cem.${k}`, v])) },
    },
    { miningEpisodes: o.episodes, solved, plans, trajectories: episodes.length },
  );
}
