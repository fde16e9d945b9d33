/**
 * Reference semantics for (masked) softmax along one axis. float32 storage (results written
 * to Float32Array); per row: visible values v_i (x_i, or fround(x_i + mask_i) for an additive
 * mask), m = max v_i, e_i = exp(v_i - m) with the deterministic exp of ../math.ts, the sum and
 * the quotient e_i / sum in float64, rounded to float32 once.
 * Never optimized: speed lives in ../wasm.
 *
 * Guarantees: hidden entries (boolean mask 0, or v_i = -Infinity) are exactly 0; a row with
 * one visible entry is exactly 1 there; a fully hidden row is all zeros (documented choice:
 * PyTorch gives NaN); no NaN unless the input holds NaN or +Infinity.
 */
import { exp } from '../math.js';
import { ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { axisSplit, broadcastOffsets, broadcastShapes, broadcastStrides, checkDType, checkF32, normAxis, suffixPeriod } from './util.js';

/**
 * Flat offsets into `mask` for every element of `shape` (mask broadcast to shape), or a
 * ShapeError if the mask does not broadcast to exactly `shape`.
 */
export function maskOffsets(op: string, mask: Tensor, shape: readonly number[]): Int32Array {
  checkDType(op, 'mask', mask, ['f32', 'u8']);
  const b = broadcastShapes(op, mask.shape, shape);
  if (b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
    throw new ShapeError(op, `mask ${fmtShape(mask.shape)} does not broadcast to input ${fmtShape(shape)}`);
  }
  return broadcastOffsets(shape, broadcastStrides(mask.shape, shape));
}

/**
 * Masked values of x (as float32) with -Infinity where hidden: the input the softmax sees.
 * Exported for the autograd, which needs the same visibility rule.
 */
export function maskedLogits(op: string, x: Tensor<'f32'>, mask?: Tensor | null): Float32Array {
  const X = x.data as Float32Array;
  if (!mask) return X;
  // an attention mask (T, T) over scores (B, H, T, T) is a suffix broadcast: no index table
  const period = mask.ndim <= x.ndim ? suffixPeriod(mask.shape, x.shape) : 0;
  const offs = period > 0 ? null : maskOffsets(op, mask, x.shape);
  if (period > 0) checkDType(op, 'mask', mask, ['f32', 'u8']);
  const at = (i: number): number => (offs ? offs[i] : i % period);
  const out = new Float32Array(x.size);
  if (mask.dtype === 'u8') {
    const M = mask.data as Uint8Array;
    for (let i = 0; i < out.length; i++) out[i] = M[at(i)] !== 0 ? X[i] : -Infinity;
  } else {
    const M = mask.data as Float32Array;
    for (let i = 0; i < out.length; i++) out[i] = X[i] + M[at(i)];
  }
  return out;
}

/** Softmax of logits V (already masked) along (outer, n, inner) into a new Float32Array. */
export function softmaxRows(V: Float32Array, outer: number, n: number, inner: number): Float32Array {
  const out = new Float32Array(V.length);
  const e = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      const base = o * n * inner + r;
      let m = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = V[base + i * inner];
        if (v > m || Number.isNaN(v)) m = v;
      }
      if (m === -Infinity) continue; // fully hidden row: zeros
      let s = 0;
      for (let i = 0; i < n; i++) {
        const v = V[base + i * inner];
        e[i] = v === -Infinity ? 0 : exp(v - m);
        s += e[i];
      }
      for (let i = 0; i < n; i++) out[base + i * inner] = e[i] / s;
    }
  }
  return out;
}

/**
 * softmax(x + mask) along `axis`.
 * @param x (...) logits
 * @param axis default -1
 * @param mask broadcastable to x: f32 additive (0 or -Infinity, or any finite bias), or u8
 *   boolean (1 = keep, 0 = hide)
 * @returns same shape as x
 */
export function softmax(x: Tensor<'f32'>, axis = -1, mask?: Tensor | null): Tensor<'f32'> {
  const op = 'softmax';
  checkF32(op, x);
  const ax = normAxis(op, axis, x.shape);
  const V = maskedLogits(op, x, mask);
  const [outer, n, inner] = axisSplit(x.shape, ax);
  return new Tensor('f32', x.shape, softmaxRows(V, outer, n, inner));
}
