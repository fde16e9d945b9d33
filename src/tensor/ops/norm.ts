/**
 * Reference semantics for LayerNorm over the last axis. float32 storage (results written to
 * Float32Array); per row the mean and the biased variance are computed in float64 by two
 * passes (mean = sum x / D, var = sum (x - mean)^2 / D), rstd = 1 / sqrt(var + eps) in float64,
 * and y = (x - mean) * rstd * gamma + beta is rounded to float32 once. This is at least as
 * accurate as PyTorch's float32 CPU kernel (Welford in float32), so the two differ by
 * PyTorch's own rounding: see test/tensor/ops/norm.test.ts for the bound.
 * Never optimized: speed lives in ../wasm.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { checkF32 } from './util.js';

/** Per-row float64 mean and rstd = 1/sqrt(var + eps) of x viewed as (rows, D). */
export function layerNormStats(X: Float32Array, rows: number, D: number, eps: number): { mean: Float64Array; rstd: Float64Array } {
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    let s = 0;
    for (let i = 0; i < D; i++) s += X[o + i];
    const m = s / D;
    let ss = 0;
    for (let i = 0; i < D; i++) {
      const d = X[o + i] - m;
      ss += d * d;
    }
    mean[r] = m;
    rstd[r] = 1 / Math.sqrt(ss / D + eps);
  }
  return { mean, rstd };
}

/** Shape and value checks shared by layerNorm and its gradient. Returns D. */
export function checkLayerNorm(op: string, x: Tensor, gamma: Tensor | null | undefined, beta: Tensor | null | undefined, eps: number): number {
  checkF32(op, x);
  if (x.ndim < 1) throw new ShapeError(op, `input must have a last axis, got ${fmtShape(x.shape)}`);
  const D = x.shape[x.ndim - 1];
  if (D === 0) throw new ShapeError(op, `last axis of ${fmtShape(x.shape)} is empty`);
  for (const [name, p] of [['gamma', gamma], ['beta', beta]] as const) {
    if (!p) continue;
    checkF32(op, p);
    if (p.ndim !== 1 || p.shape[0] !== D) throw new ShapeError(op, `${name} ${fmtShape(p.shape)} must be (${D}) for input ${fmtShape(x.shape)}`);
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new ValueError(op, `eps must be finite and >= 0, got ${eps}`);
  return D;
}

/**
 * LayerNorm over the last axis, as torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps).
 * @param x (..., D)
 * @param gamma (D) scale, or null for 1
 * @param beta (D) shift, or null for 0
 * @param eps added to the biased variance (1e-6 in DINOv2, 1e-5 in the predictor)
 * @returns (..., D)
 */
export function layerNorm(x: Tensor<'f32'>, gamma: Tensor<'f32'> | null, beta: Tensor<'f32'> | null, eps = 1e-5): Tensor<'f32'> {
  const D = checkLayerNorm('layerNorm', x, gamma, beta, eps);
  const X = x.data as Float32Array;
  const rows = x.size / D;
  const { mean, rstd } = layerNormStats(X, rows, D, eps);
  const G = gamma ? (gamma.data as Float32Array) : null;
  const B = beta ? (beta.data as Float32Array) : null;
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    const m = mean[r];
    const s = rstd[r];
    for (let i = 0; i < D; i++) {
      let y = (X[o + i] - m) * s;
      if (G) y *= G[i];
      if (B) y += B[i];
      out[o + i] = y;
    }
  }
  return new Tensor('f32', x.shape, out);
}
