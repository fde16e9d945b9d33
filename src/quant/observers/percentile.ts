/**
 * Percentile observer (QuantWM models/ptq/observer/percentile.py, per tensor only):
 *   cur_max = quantile(x, 0.99999), cur_min = quantile(x, 1 - 0.99999)   (torch.quantile, linear)
 *   first call: max = cur_max; later: max = max + 0.01 (cur_max - max)   (EMA), same for min
 * then (s, z) by the min-max formulas. Every step is float32, as torch computes it:
 *   rank = fr(fr(q) * (n - 1)), w = fr(rank - floor(rank)),
 *   lerp(a, b, w) = |w| < 0.5 ? fr(a + fr(w fr(b - a))) : fr(b - fr(fr(b - a) fr(1 - w)))
 */
import { ValueError } from '../../tensor/errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { chooseQParams, type QParams, type QRange, type ScaleRule } from '../affine.js';

const fr = Math.fround;

/** torch.quantile(x.flatten(), q) with linear interpolation, in float32 semantics. */
export function quantile(x: Float32Array, q: number): number {
  if (x.length === 0) throw new ValueError('quantile', 'empty input');
  if (!(q >= 0 && q <= 1)) throw new ValueError('quantile', `q must be in [0, 1], got ${q}`);
  const sorted = Float32Array.from(x);
  for (let i = 0; i < sorted.length; i++) if (sorted[i] !== sorted[i]) throw new ValueError('quantile', `x[${i}] is NaN`);
  sorted.sort();
  const rank = fr(fr(q) * (sorted.length - 1));
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const w = fr(rank - lo);
  const a = sorted[lo];
  const b = sorted[hi];
  return Math.abs(w) < 0.5 ? fr(a + fr(w * fr(b - a))) : fr(b - fr(fr(b - a) * fr(1 - w)));
}

export class PercentileObserver {
  private lo: number | null = null;
  private hi: number | null = null;

  constructor(
    readonly alpha = 0.99999,
    readonly sigma = 0.01,
  ) {}

  /** @param x (..., C), reduced over all elements */
  observe(x: Tensor): void {
    const X = x.f32;
    const curMax = quantile(X, this.alpha);
    const curMin = quantile(X, 1.0 - this.alpha);
    const s = fr(this.sigma);
    this.hi = this.hi === null ? curMax : fr(this.hi + fr(s * fr(curMax - this.hi)));
    this.lo = this.lo === null ? curMin : fr(this.lo + fr(s * fr(curMin - this.lo)));
  }

  get min(): number {
    if (this.lo === null) throw new ValueError('PercentileObserver', 'no tensor observed yet');
    return this.lo;
  }

  get max(): number {
    if (this.hi === null) throw new ValueError('PercentileObserver', 'no tensor observed yet');
    return this.hi;
  }

  qparams(range: QRange, rule: ScaleRule): QParams {
    return chooseQParams(Float32Array.of(this.min), Float32Array.of(this.max), range, rule);
  }
}
