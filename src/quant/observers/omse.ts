/**
 * OMSE clipping searches, as QuantWM codes them (models/ptq/observer/omse.py).
 *
 * Weights (per row or group), symmetric, computed once from W:
 *   for i = 0..100: r_i = fr(0.35 + i (1 - 0.35) / 100)      101 ratios 0.35 .. 1.00
 *     s_i = clamp(fr(max(|fr(r_i max0)|, |fr(r_i min0)|) / qmax), 1e-5, 1e4), z = 0   (note: / qmax)
 *     err_i = sum over the group of (w - ŵ_i)^2, ŵ_i = (clamp(round(w / s_i), qmin, qmax)) s_i
 *     keep r_i where err_i < best (strict, so the smallest ratio wins ties; best starts at 1e5,
 *     so a group whose errors are all >= 1e5 keeps r = 1)
 *
 * Activations (per tensor, asymmetric), on the tensor of the last calibration call:
 *   for i = 0..89: max_i = fr(max fr(1 - 0.01 i)), min_i likewise; (s, z) by 'minmax-asym';
 *     err_i = mean((x - x̂_i)^2) with the 'quantwm-uniform' quantizer; keep the first strict minimum.
 *
 * Departure, stated: torch sums the errors in float32 (vectorized order); we sum in float64.
 * The chosen candidate can differ only when two candidates' float32 errors agree to within
 * float32 summation error (~1e-7 relative); the golden tests pin the choices on their data.
 */
import { DTypeError, ValueError } from '../../tensor/errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  CONVENTIONS,
  chooseQParam,
  groupMinMax,
  quantizeValue,
  type QParams,
  type QRange,
} from '../affine.js';
import type { GroupLayout } from '../granularity.js';

const fr = Math.fround;

/** The 101 OMSE weight ratios, as float32: fr(0.35 + i * 0.65 / 100). */
export const OMSE_WEIGHT_RATIOS: Float32Array = Float32Array.from({ length: 101 }, (_, i) => 0.35 + (i * (1 - 0.35)) / 100);

export interface OmseWeightResult {
  readonly qparams: QParams;
  /** chosen ratio per group (float32) */
  readonly ratio: Float32Array;
  /** sum of squared errors at the chosen ratio (float64 accumulation; 1e5 when none beat it) */
  readonly error: Float64Array;
  /** the same error measure at r = 1 (plain absmax / qmax) */
  readonly errorAtOne: Float64Array;
}

/**
 * QuantWM's OMSE weight search, per group of `layout`.
 * @param w (out, in) f32
 * @param range signed range (qmin, qmax), e.g. int4 [-8, 7]
 */
export function omseWeightSearch(w: Tensor, layout: GroupLayout, range: QRange): OmseWeightResult {
  const where = 'omseWeightSearch';
  if (w.dtype !== 'f32') throw new DTypeError(where, `w must be f32, got ${w.dtype}`);
  if (range.qmin >= 0) throw new ValueError(where, `OMSE weights are symmetric: need a signed range, got [${range.qmin}, ${range.qmax}]`);
  const W = w.data as Float32Array;
  const { min, max } = groupMinMax(w, layout);
  const G = layout.numGroups;
  const ratio = new Float32Array(G).fill(1);
  const best = new Float64Array(G).fill(100000);
  const errorAtOne = new Float64Array(G);
  const conv = CONVENTIONS.onnx; // round(w / s) + 0, as omse.py writes it
  const { start, count, stride } = layout;
  for (let g = 0; g < G; g++) {
    for (let i = 0; i < OMSE_WEIGHT_RATIOS.length; i++) {
      const r = OMSE_WEIGHT_RATIOS[i];
      const [s] = chooseQParam(fr(r * min[g]), fr(r * max[g]), range, 'absmax-clamp');
      let err = 0;
      for (let k = 0, j = start[g]; k < count[g]; k++, j += stride) {
        const q = quantizeValue(W[j], s, 0, 0, range.qmin, range.qmax, conv);
        const d = W[j] - fr(q * s);
        err += d * d;
      }
      if (i === OMSE_WEIGHT_RATIOS.length - 1) errorAtOne[g] = err;
      if (err < best[g]) {
        best[g] = err;
        ratio[g] = r;
      }
    }
  }
  const scale = new Float32Array(G);
  for (let g = 0; g < G; g++) scale[g] = chooseQParam(fr(ratio[g] * min[g]), fr(ratio[g] * max[g]), range, 'absmax-clamp')[0];
  return { qparams: { scale, zeroPoint: new Float32Array(G) }, ratio, error: best, errorAtOne };
}

export interface OmseActResult {
  readonly qparams: QParams;
  /** index i of the chosen shrink factor fr(1 - 0.01 i), 0..89 */
  readonly index: number;
  /** mean squared error of the choice (float64 accumulation) */
  readonly error: number;
  /** the same measure for i = 0 (no clipping) */
  readonly errorAtOne: number;
}

/**
 * QuantWM's OMSE per-tensor activation search.
 * @param x (..., C) the tensor of the last calibration call
 * @param min running minimum over calibration (float32)
 * @param max running maximum over calibration (float32)
 * @param range unsigned range, e.g. uint8 [0, 255]
 */
export function omseActivationSearch(x: Tensor, min: number, max: number, range: QRange): OmseActResult {
  const where = 'omseActivationSearch';
  if (x.dtype !== 'f32') throw new DTypeError(where, `x must be f32, got ${x.dtype}`);
  if (!(min <= max)) throw new ValueError(where, `need min <= max, got [${min}, ${max}]`);
  const X = x.data as Float32Array;
  const conv = CONVENTIONS['quantwm-uniform'];
  let bestErr = 1e10;
  let bestI = -1;
  let bestS = 0;
  let bestZ = 0;
  let errorAtOne = 0;
  for (let i = 0; i < 90; i++) {
    const f = fr(1.0 - i * 0.01);
    const [s, z] = chooseQParam(fr(min * f), fr(max * f), range, 'minmax-asym');
    let err = 0;
    for (let j = 0; j < X.length; j++) {
      const v = X[j];
      if (v !== v) throw new ValueError(where, `x[${j}] is NaN`);
      const d = v - fr((quantizeValue(v, s, 0, z, range.qmin, range.qmax, conv) - z) * s);
      err += d * d;
    }
    err /= X.length;
    if (i === 0) errorAtOne = err;
    if (err < bestErr) {
      bestErr = err;
      bestI = i;
      bestS = s;
      bestZ = z;
    }
  }
  if (bestI < 0) throw new ValueError(where, `every candidate error is >= 1e10 (QuantWM would fail here too)`);
  return {
    qparams: { scale: Float32Array.of(bestS), zeroPoint: Float32Array.of(bestZ) },
    index: bestI,
    error: bestErr,
    errorAtOne,
  };
}
