/**
 * What happened and what the model imagined, as frames: the executed trajectory rendered by the
 * env, and the world model's decoded encodings and rollouts of the same plans. Used by
 * `quantwm plan --gif` (side-by-side animations) and the study's episode strips.
 */
import type { Env, StartGoal } from '../env/types.js';
import type { WorldModel } from '../nn/world-model.js';
import { replayPlan } from '../plan/mpc.js';
import type { ActionNorm } from '../plan/types.js';
import { ShapeError } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Rendered frames of executed world-model actions: goal, start, then the state after every
 * world-model step (frameskip env steps). Each (size, size, 3), size = env.imageSize.
 * @param actions (steps, A) normalised world-model actions
 */
export function executedFrames(env: Env, ep: StartGoal, actions: Float32Array, A: number, norm: ActionNorm): Uint8Array[] {
  if (actions.length % A !== 0) throw new ShapeError('executedFrames', `${actions.length} action values are not whole steps of ${A}`);
  const size = env.imageSize;
  const frames = [env.render(ep.goal, size), env.render(ep.start, size)];
  for (let o = A; o <= actions.length; o += A) frames.push(env.render(replayPlan(env, ep.start, actions.subarray(0, o), A, norm), size));
  return frames;
}

/**
 * What the model imagined, aligned with executedFrames: decode(encode(goal)), decode(encode(start)),
 * then for each plan of H world-model steps (from the real state it was made at) the decoded
 * frames 1..H of the model's rollout of that plan. Each (S, S, 3), S = the decoder's side.
 * @param actions (plans * H, A) normalised actions; the last plan may be shorter
 */
export function imaginedFrames(env: Env, wm: WorldModel, ep: StartGoal, actions: Float32Array, H: number, norm: ActionNorm): Uint8Array[] {
  const A = wm.actionDim;
  if (actions.length % A !== 0) throw new ShapeError('imaginedFrames', `${actions.length} action values are not whole steps of ${A}`);
  const decode = (visual: Float32Array, n: number): Uint8Array[] => {
    const img = wm.decode(new Tensor('f32', [n, wm.visualSize], visual.slice(0, n * wm.visualSize)));
    const px = img.size / n;
    return Array.from({ length: n }, (_, i) => (img.data as Uint8Array).slice(i * px, (i + 1) * px));
  };
  const encodeAt = (state: Float64Array): Float32Array => {
    env.reset(state);
    return wm.encode(env.observe()).visual;
  };
  const out = [...decode(encodeAt(ep.goal), 1), ...decode(encodeAt(ep.start), 1)];
  for (let o = 0; o < actions.length; o += H * A) {
    const plan = actions.subarray(o, Math.min(actions.length, o + H * A));
    const h = plan.length / A;
    env.reset(replayPlan(env, ep.start, actions.subarray(0, o), A, norm));
    const roll = wm.rollout(wm.encode(env.observe()), plan, 1, h, 'all'); // frames 0..h
    out.push(...decode(roll.visual.subarray(wm.visualSize), h));
  }
  return out;
}

/** Nearest-neighbour resize of a square RGB image: (side, side, 3) -> (size, size, 3); a copy when side = size. */
export function resizeNearest(img: Uint8Array, size: number): Uint8Array {
  const side = Math.round(Math.sqrt(img.length / 3));
  if (side * side * 3 !== img.length) throw new ShapeError('resizeNearest', `${img.length} bytes is not a square RGB image`);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const sy = Math.floor((y * side) / size);
    for (let x = 0; x < size; x++) {
      const src = (sy * side + Math.floor((x * side) / size)) * 3;
      const dst = (y * size + x) * 3;
      out[dst] = img[src];
      out[dst + 1] = img[src + 1];
      out[dst + 2] = img[src + 2];
    }
  }
  return out;
}
