/**
 * Central finite differences against the tape's gradients.
 *
 * Loss: L = sum_i w_i f(x)_i with fixed weights w_i = cos(1.7 i + 0.3) (so every output element
 * and every Jacobian entry takes part), summed in float64. Each input element is perturbed by
 * ±h (the float32-rounded step is used as the denominator).
 *
 * Tolerance |analytic - numeric| <= 1e-4 + 1e-2 |numeric| + 2^-24 * 64 * S / (2h):
 *   truncation  h^2/6 |f'''|, with h = 1e-2 and O(1) inputs: ~1e-5 -> absorbed by 1e-4 + 1%
 *   rounding    every forward value is float32: each of the two losses is off by up to
 *               ~depth * 2^-24 * S, S = sum_i |w_i f_i| (depth <= 64 roundings along a path),
 *               divided by the 2h step.
 * The analytic side is float32 too, so the 1% relative term also covers its rounding.
 */
import { expect } from 'vitest';
import { backward, constant, noGrad, param, type Var } from '../../../src/tensor/autograd/index.js';
import { Tensor } from '../../../src/tensor/tensor.js';

export const H = 1e-2;

const weight = (i: number): number => Math.cos(1.7 * i + 0.3);

function lossOf(y: Tensor<'f32'>): { L: number; S: number } {
  let L = 0;
  let S = 0;
  const Y = y.data as Float32Array;
  for (let i = 0; i < Y.length; i++) {
    L += weight(i) * Y[i];
    S += Math.abs(weight(i) * Y[i]);
  }
  return { L, S };
}

/**
 * Check d L / d x_k for every input that is differentiated (`which`, default all).
 * @returns the number of entries compared (tests assert it is > 0)
 */
export function gradcheck(f: (...xs: Var[]) => Var, inputs: readonly Tensor<'f32'>[], which?: readonly boolean[]): number {
  const leaves = inputs.map((t, k) => ((which?.[k] ?? true) ? param(t.clone()) : constant(t.clone())));
  const y = f(...leaves);
  // seed = the loss weights: backward of L = sum w_i y_i
  const seed = new Tensor('f32', y.shape, Float32Array.from({ length: y.size }, (_, i) => weight(i)));
  backward(y, seed);
  let compared = 0;
  inputs.forEach((t, k) => {
    if (!(which?.[k] ?? true)) return;
    const g = leaves[k].grad;
    const base = inputs.map((u) => u.clone());
    for (let i = 0; i < t.size; i++) {
      const x0 = t.f32[i];
      const xp = Math.fround(x0 + H);
      const xm = Math.fround(x0 - H);
      const at = (v: number): { L: number; S: number } => {
        base[k].f32[i] = v;
        const r = noGrad(() => lossOf(f(...base.map((u) => constant(u))).value));
        base[k].f32[i] = x0;
        return r;
      };
      const p = at(xp);
      const m = at(xm);
      const num = (p.L - m.L) / (xp - xm);
      const ana = g ? g.f32[i] : 0;
      const tol = 1e-4 + 1e-2 * Math.abs(num) + (2 ** -24 * 64 * Math.max(p.S, m.S)) / (xp - xm);
      if (!(Math.abs(ana - num) <= tol)) {
        expect.fail(`input ${k} element ${i}: analytic ${ana} vs numeric ${num} (tol ${tol.toExponential(2)})`);
      }
      compared++;
    }
  });
  return compared;
}
