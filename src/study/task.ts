import { sampleDatasetStartGoal, splitEpisodes } from '../env/dataset/load.js';
import type { Dataset } from '../env/dataset/dataset.js';
import { makeEnv } from '../env/registry.js';
import { cos, sin } from '../env/trig.js';
import type { Env, EnvName } from '../env/types.js';
import type { CemSettings } from '../plan/cem.js';
import type { EvalSettings, EvalTask } from '../plan/evaluator.js';
import type { ObjectiveSettings } from '../plan/objective.js';
import type { ActionNorm } from '../plan/types.js';
import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';

/** Planner and evaluation settings of one task: part of every result. */
export interface TaskSettings {
  cem: CemSettings;
  objective: ObjectiveSettings;
  eval: EvalSettings;
}

/** DINO-WM / QuantWM settings per task (reference/quantwm-dinowm-spec.md A.6, C.1-C.3). */
export function defaultSettings(task: EnvName): TaskSettings {
  const cem: CemSettings = { horizon: 5, samples: 300, topk: 30, varScale: 1, optSteps: task === 'pusht' ? 30 : 10 };
  const objective: ObjectiveSettings = { mode: 'last', alpha: task === 'pointmaze' ? 0 : 1, base: 2 };
  return { cem, objective, eval: { episodes: 50, seed: 99, offset: 1, mpc: { maxIter: task === 'pusht' ? 30 : 50 } } };
}

/**
 * The evaluation task: the env at the model's image size, the model's action statistics, and the
 * start/goal sampler of DINO-WM: random_state for Wall and PointMaze, dataset replay of 25 actions
 * from the validation split for PushT (needs `dataset`).
 */
export function makeTask(name: EnvName, imageSize: number, norm: ActionNorm, dataset?: Dataset): EvalTask & { env: Env } {
  const env = makeEnv(name, { imageSize });
  if (name !== 'pusht') return { env, norm, sampleEpisode: (seed) => env.sampleStartGoal(new Rng(seed)) };
  if (!dataset) throw new ValueError('makeTask', 'PushT goals replay dataset actions: pass --data');
  const val = splitEpisodes(dataset.episodes).val;
  return {
    env,
    norm,
    sampleEpisode: (seed) => {
      const g = sampleDatasetStartGoal(env, dataset, new Rng(seed), 25, val.length ? val : undefined);
      return { start: g.start, goal: g.goal };
    },
  };
}

/**
 * True-state features the oracle's cost compares (no velocities: goals carry random ones).
 * Wall, PointMaze: position. PushT: agent and block position, block angle as 50·(cos, sin).
 */
export function oracleFeatures(name: EnvName): (state: Float64Array) => Float32Array {
  if (name !== 'pusht') return (s) => Float32Array.of(s[0], s[1]);
  return (s) => Float32Array.of(s[0], s[1], s[2], s[3], 50 * cos(s[4]), 50 * sin(s[4]));
}
