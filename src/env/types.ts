/**
 * The one environment interface shared by Wall, PointMaze and PushT.
 *
 * States are Float64Array vectors (layout per env, see `stateDim` and each env's header);
 * actions are env-step actions (not world-model actions: the 5-step frameskip concatenation
 * lives in dataset/load.ts). Images are HWC RGB uint8, `size*size*3` bytes.
 */
import { ShapeError, ValueError } from '../tensor/errors.js';
import type { Rng } from '../tensor/rng.js';

export type EnvName = 'wall' | 'pointmaze' | 'pusht';
export const ENV_NAMES: readonly EnvName[] = ['wall', 'pointmaze', 'pusht'];

/** Anything indexable as numbers: Float64Array, Float32Array, number[]. */
export type NumVec = ArrayLike<number>;

export interface Observation {
  /** (H, W, 3) RGB, row-major, H = W = env.imageSize */
  image: Uint8Array;
  /** (proprioDim) */
  proprio: Float32Array;
}

export interface StartGoal {
  start: Float64Array;
  goal: Float64Array;
}

export interface Env {
  readonly name: EnvName;
  readonly stateDim: number;
  readonly actionDim: number;
  readonly proprioDim: number;
  /** side of the square image `observe()` returns */
  readonly imageSize: number;
  /** The numeric parameters the env was made with (stored in dataset headers). */
  readonly params: Readonly<Record<string, number>>;

  /** Set the full state (stateDim numbers, all finite). Returns a copy of the new state. */
  reset(state: NumVec): Float64Array;
  /** Apply one env-step action (actionDim finite numbers). Returns a copy of the new state. */
  step(action: Float64Array | Float32Array | number[]): Float64Array;
  /** Image of the current state at `imageSize` and its proprio vector. */
  observe(): Observation;
  /** Copy of the current state. */
  state(): Float64Array;
  /** Proprio vector of any state, (proprioDim). */
  proprioOf(state: NumVec): Float32Array;
  /** DINO-WM's success test (`eval_state`) of `state` against `goal`. */
  isSuccess(state: NumVec, goal: NumVec): boolean;
  /** The distance the success test thresholds (PushT: the 4-d agent+block position part). */
  stateDistance(state: NumVec, goal: NumVec): number;
  /** A seeded start/goal pair (DINO-WM's `random_state` for Wall and PointMaze). */
  sampleStartGoal(rng: Rng): StartGoal;
  /**
   * Reset to `start` and apply the actions in order. Leaves the env at the last state.
   * @param actions (T, actionDim) flat
   * @returns (T+1, stateDim) flat; row 0 is `start`
   */
  replay(start: NumVec, actions: NumVec): Float64Array;
  /** (size, size, 3) RGB image of any state; deterministic bits. */
  render(state: NumVec, size: number): Uint8Array;
}

/** Throws unless `v` has exactly `n` finite numbers. */
export function checkVec(where: string, what: string, v: NumVec, n: number): void {
  if (v === null || v === undefined || typeof (v as { length?: unknown }).length !== 'number') {
    throw new ValueError(where, `${what} must be an array of ${n} numbers`);
  }
  if (v.length !== n) throw new ShapeError(where, `${what} must have length ${n}, got ${v.length}`);
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new ValueError(where, `${what}[${i}] must be a finite number, got ${String(x)}`);
    }
  }
}

/** Throws unless `size` is an integer image side in [1, 4096]. */
export function checkSize(where: string, size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new ValueError(where, `image size must be an integer in [1, 4096], got ${size}`);
  }
}

/** Reads a numeric parameter with a default, rejecting non-finite values and unknown keys. */
export function readParams(
  where: string,
  given: Readonly<Record<string, number>> | undefined,
  defaults: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = { ...defaults };
  if (given === undefined) return out;
  for (const [k, v] of Object.entries(given)) {
    if (!(k in defaults)) throw new ValueError(where, `unknown parameter '${k}' (known: ${Object.keys(defaults).join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValueError(where, `parameter '${k}' must be a finite number, got ${String(v)}`);
    out[k] = v;
  }
  return out;
}

/**
 * Generic replay over reset/step (every env uses it).
 * @param actions (T, A) flat
 * @returns (T+1, S) flat
 */
export function replayActions(env: Env, start: NumVec, actions: NumVec): Float64Array {
  const A = env.actionDim;
  const S = env.stateDim;
  if (actions.length % A !== 0) {
    throw new ShapeError(`${env.name}.replay`, `actions length ${actions.length} is not a multiple of actionDim ${A}`);
  }
  const T = actions.length / A;
  const out = new Float64Array((T + 1) * S);
  out.set(env.reset(start), 0);
  const a = new Float64Array(A);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < A; i++) a[i] = actions[t * A + i];
    out.set(env.step(a), (t + 1) * S);
  }
  return out;
}
