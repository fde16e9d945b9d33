import { ShapeError } from '../tensor/errors.js';
import { pow } from '../tensor/math.js';
import type { Latent, Rollout } from './types.js';

/** DINO-WM objective settings (reference/quantwm-dinowm-spec.md C.1). */
export interface ObjectiveSettings {
  mode: 'last' | 'all';
  /** weight of the proprio-embedding MSE: Wall 1, PushT 1, PointMaze 0 */
  alpha: number;
  /** frame weights base^i (normalised) in mode 'all'; DINO-WM uses 2 */
  base: number;
}

export const DEFAULT_OBJECTIVE: ObjectiveSettings = { mode: 'last', alpha: 1, base: 2 };

function mse(a: Float32Array, aOff: number, b: Float32Array, n: number): number {
  if (n === 0) return 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = a[aOff + i] - b[i];
    s += d * d;
  }
  return s / n;
}

/**
 * Cost of each sample: mode 'last' is MSE(final visual, goal visual) + alpha MSE(final proprio, goal proprio);
 * mode 'all' weights every predicted frame i = 1..H by base^i / sum base^i. Accumulates in float64.
 * @param r rollout of S samples (mode 'all' needs all frames)
 * @param goal latent of the goal observation
 * @returns (S) costs
 */
export function objectiveCosts(r: Rollout, goal: Latent, s: ObjectiveSettings): Float64Array {
  const V = goal.visual.length;
  const Dp = goal.proprio.length;
  const S = r.visual.length / (r.frames * V);
  if (!Number.isInteger(S) || r.proprio.length !== S * r.frames * Dp) {
    throw new ShapeError('objectiveCosts', `rollout (${r.visual.length}, ${r.proprio.length}) does not match goal (${V}, ${Dp}) x ${r.frames} frames`);
  }
  const out = new Float64Array(S);
  const frameCost = (smp: number, f: number): number => {
    const vis = mse(r.visual, (smp * r.frames + f) * V, goal.visual, V);
    const pro = s.alpha === 0 ? 0 : mse(r.proprio, (smp * r.frames + f) * Dp, goal.proprio, Dp);
    return vis + s.alpha * pro;
  };
  if (s.mode === 'last') {
    for (let i = 0; i < S; i++) out[i] = frameCost(i, r.frames - 1);
    return out;
  }
  if (r.frames < 2) throw new ShapeError('objectiveCosts', `mode 'all' needs all frames, got ${r.frames}`);
  // frames 1..H carry predictions; frame 0 is the encoded current observation
  let wsum = 0;
  for (let f = 1; f < r.frames; f++) wsum += pow(s.base, f);
  for (let i = 0; i < S; i++) {
    let c = 0;
    for (let f = 1; f < r.frames; f++) c += (pow(s.base, f) / wsum) * frameCost(i, f);
    out[i] = c;
  }
  return out;
}
