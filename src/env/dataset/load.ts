/**
 * What a trainer or planner needs from a dataset: the 90/10 episode split (seed 42), action and
 * proprio normalisation, DINO-WM's frameskip windows, and dataset-replay goals.
 *
 * Frameskip windows (DINO-WM `TrajSlicerDataset`, reference spec B.1/B.7): an episode with L
 * actions has T = L observation/action pairs (its final state has no action and is not a window
 * observation, as in DINO-WM where obs and actions have equal length). A window of n frames
 * with frameskip f starts at s in [0, T - n f] and holds
 *   observations s, s + f, ..., s + (n - 1) f
 *   actions      s .. s + n f - 1, normalised per env step, grouped "(n f) d -> n (f d)"
 * so each world-model action is the f = 5 env actions concatenated (10-d for 2-d actions).
 */
import { ShapeError, ValueError } from '../../tensor/errors.js';
import type { Rng } from '../../tensor/rng.js';
import { Rng as RngClass } from '../../tensor/rng.js';
import type { Env } from '../types.js';
import type { Dataset, MeanStd } from './dataset.js';

export interface Split {
  train: number[];
  val: number[];
}

/**
 * Random episode split: a Fisher-Yates permutation from Rng(seed); the first floor(f n) indices
 * train, the rest validate (DINO-WM `split_traj_datasets`, whose torch.randperm stream we cannot
 * reproduce, so the membership differs while the rule is the same).
 */
export function splitEpisodes(n: number, trainFraction = 0.9, seed = 42): Split {
  if (!Number.isInteger(n) || n < 0) throw new ValueError('splitEpisodes', `n must be a non-negative integer, got ${n}`);
  if (!(trainFraction >= 0 && trainFraction <= 1)) throw new ValueError('splitEpisodes', `trainFraction must be in [0, 1], got ${trainFraction}`);
  const perm = new RngClass(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const k = Math.floor(trainFraction * n);
  return { train: perm.slice(0, k), val: perm.slice(k) };
}

/** (x - mean) / std per column, in place on a (rows, cols) array; returns it. */
export function normalize(x: Float32Array, s: MeanStd): Float32Array {
  const c = s.mean.length;
  if (x.length % c !== 0) throw new ShapeError('normalize', `length ${x.length} is not a multiple of ${c} columns`);
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - s.mean[i % c]) / s.std[i % c];
  return x;
}

/** x std + mean per column (world-model action -> env action), in place; returns it. */
export function denormalize(x: Float32Array | Float64Array, s: MeanStd): Float32Array | Float64Array {
  const c = s.mean.length;
  if (x.length % c !== 0) throw new ShapeError('denormalize', `length ${x.length} is not a multiple of ${c} columns`);
  for (let i = 0; i < x.length; i++) x[i] = x[i] * s.std[i % c] + s.mean[i % c];
  return x;
}

export interface WindowSpec {
  /** observations per window (num_hist + num_pred) */
  numFrames: number;
  /** env steps per world-model step (DINO-WM: 5) */
  frameskip: number;
}

function checkSpec(where: string, spec: WindowSpec): void {
  if (!Number.isInteger(spec.numFrames) || spec.numFrames < 1) throw new ValueError(where, `numFrames must be a positive integer, got ${spec.numFrames}`);
  if (!Number.isInteger(spec.frameskip) || spec.frameskip < 1) throw new ValueError(where, `frameskip must be a positive integer, got ${spec.frameskip}`);
}

/**
 * All windows of the given episodes, in episode order then start order.
 * @returns (W, 2) flat pairs (episode, start)
 */
export function windowIndex(ds: Dataset, episodes: readonly number[], spec: WindowSpec): Int32Array {
  checkSpec('windowIndex', spec);
  const span = spec.numFrames * spec.frameskip;
  const out: number[] = [];
  for (const k of episodes) {
    if (!Number.isInteger(k) || k < 0 || k >= ds.episodes) throw new ValueError('windowIndex', `episode ${k} out of range [0, ${ds.episodes})`);
    const T = ds.lengths[k];
    for (let s = 0; s + span <= T; s++) out.push(k, s);
  }
  return Int32Array.from(out);
}

export interface Window {
  /** (numFrames, stateDim) raw states */
  states: Float32Array;
  /** (numFrames, proprioDim) normalised proprio */
  proprio: Float32Array;
  /** (numFrames, frameskip * actionDim) normalised env actions, 5 per world-model step */
  actions: Float32Array;
}

/** The window of episode `k` starting at env step `start`. */
export function getWindow(ds: Dataset, k: number, start: number, spec: WindowSpec): Window {
  checkSpec('getWindow', spec);
  const { numFrames: n, frameskip: f } = spec;
  const T = ds.lengths[k];
  if (!Number.isInteger(start) || start < 0 || start + n * f > T) throw new ValueError('getWindow', `window [${start}, ${start + n * f}) does not fit episode ${k} with ${T} actions`);
  const S = ds.stateDim;
  const P = ds.proprioDim;
  const A = ds.actionDim;
  const es = ds.episodeStates(k);
  const ep = ds.episodeProprio(k);
  const ea = ds.episodeActions(k);
  const states = new Float32Array(n * S);
  const proprio = new Float32Array(n * P);
  for (let i = 0; i < n; i++) {
    const t = start + i * f;
    states.set(es.subarray(t * S, (t + 1) * S), i * S);
    proprio.set(ep.subarray(t * P, (t + 1) * P), i * P);
  }
  const actions = ea.slice(start * A, (start + n * f) * A); // (n f, A) == (n, f A) row-major
  return { states, proprio: normalize(proprio, ds.stats.proprio), actions: normalize(actions, ds.stats.action) };
}

export interface DatasetStartGoal {
  start: Float64Array;
  goal: Float64Array;
  /** (goalSteps, actionDim) the dataset actions replayed */
  actions: Float64Array;
  episode: number;
  offset: number;
}

/**
 * DINO-WM's `dset` goals (PushT): a random episode and offset with room for `goalSteps`
 * (= frameskip * goal_H = 25) actions; start = the dataset state there; goal = the state the env
 * reaches replaying those dataset actions from it (feasible by construction).
 * @param episodes candidate episodes (default: all), e.g. the validation split
 */
export function sampleDatasetStartGoal(env: Env, ds: Dataset, rng: Rng, goalSteps = 25, episodes?: readonly number[]): DatasetStartGoal {
  if (env.name !== ds.env) throw new ValueError('sampleDatasetStartGoal', `env ${env.name} does not match dataset env ${ds.env}`);
  const pool = (episodes ?? Array.from({ length: ds.episodes }, (_, i) => i)).filter((k) => ds.lengths[k] >= goalSteps);
  if (pool.length === 0) throw new ValueError('sampleDatasetStartGoal', `no episode has ${goalSteps} actions`);
  const episode = pool[rng.int(pool.length)];
  const offset = rng.int(ds.lengths[episode] - goalSteps + 1);
  const start = ds.stateAt(episode, offset);
  const A = ds.actionDim;
  const actions = Float64Array.from(ds.episodeActions(episode).subarray(offset * A, (offset + goalSteps) * A));
  const traj = env.replay(start, actions);
  const S = env.stateDim;
  return { start, goal: traj.slice(goalSteps * S), actions, episode, offset };
}
