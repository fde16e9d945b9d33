/**
 * Reference semantics for reductions along one axis (or over all elements when `axis` is
 * omitted): sum, mean, variance, std, min, max, argmax, argmin. float32 storage (results
 * written to Float32Array / Int32Array); sums, means and variances accumulate in float64 in
 * ascending index order and are rounded to float32 once. Never optimized: speed lives in ../wasm.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor, type Shape } from '../tensor.js';
import { axisSplit, broadcastOffsets, broadcastShapes, broadcastStrides, checkF32, normAxis, prod } from './util.js';

/** f(data, base, n, stride) reduces the n elements data[base + i*stride]. */
type RowFn = (X: Float32Array, base: number, n: number, stride: number) => number;

/** Output shape of a reduction: axis dropped, or kept as 1; all axes when axis is undefined. */
export function reducedShape(shape: Shape, axis: number | undefined, keepdim: boolean): number[] {
  if (axis === undefined) return keepdim ? shape.map(() => 1) : [];
  const out = shape.slice();
  if (keepdim) out[axis] = 1;
  else out.splice(axis, 1);
  return out;
}

function reduce(op: string, x: Tensor<'f32'>, axis: number | undefined, keepdim: boolean, minCount: number, f: RowFn, intOut = false): Tensor {
  checkF32(op, x);
  const X = x.data as Float32Array;
  let outer: number;
  let n: number;
  let inner: number;
  let ax: number | undefined;
  if (axis === undefined) {
    [outer, n, inner] = [1, x.size, 1];
  } else {
    ax = normAxis(op, axis, x.shape);
    [outer, n, inner] = axisSplit(x.shape, ax);
  }
  if (n < minCount) {
    throw new ValueError(op, `needs at least ${minCount} element(s) along ${axis === undefined ? 'all axes' : `axis ${axis}`}, shape ${fmtShape(x.shape)} has ${n}`);
  }
  const shape = reducedShape(x.shape, ax, keepdim);
  const out = intOut ? new Int32Array(outer * inner) : new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) out[o * inner + r] = f(X, o * n * inner + r, n, inner);
  }
  return intOut ? new Tensor('i32', shape, out) : new Tensor('f32', shape, out);
}

function sumRow(X: Float32Array, base: number, n: number, stride: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += X[base + i * stride];
  return s;
}

/** Unbiased (n-1) or biased (n) variance of one row, two-pass in float64. */
function varRow(X: Float32Array, base: number, n: number, stride: number, unbiased: boolean): number {
  const m = sumRow(X, base, n, stride) / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = X[base + i * stride] - m;
    ss += d * d;
  }
  return ss / (unbiased ? n - 1 : n);
}

/** Sum along `axis` (all elements if undefined). @returns x's shape without axis (kept as 1 with keepdim) */
export function sum(x: Tensor<'f32'>, axis?: number, keepdim = false): Tensor<'f32'> {
  return reduce('sum', x, axis, keepdim, 0, sumRow) as Tensor<'f32'>;
}

/** Mean along `axis`; an empty axis is a ValueError (torch gives NaN). */
export function mean(x: Tensor<'f32'>, axis?: number, keepdim = false): Tensor<'f32'> {
  return reduce('mean', x, axis, keepdim, 1, (X, b, n, s) => sumRow(X, b, n, s) / n) as Tensor<'f32'>;
}

/**
 * Variance along `axis`, unbiased (divide by n-1, torch.var's default) unless `unbiased` is
 * false. Fewer than 2 (unbiased) or 1 element is a ValueError, never NaN.
 */
export function variance(x: Tensor<'f32'>, axis?: number, keepdim = false, unbiased = true): Tensor<'f32'> {
  return reduce('variance', x, axis, keepdim, unbiased ? 2 : 1, (X, b, n, s) => varRow(X, b, n, s, unbiased)) as Tensor<'f32'>;
}

/** Standard deviation sqrt(variance) (float64 sqrt, then float32), unbiased by default like torch.std. */
export function std(x: Tensor<'f32'>, axis?: number, keepdim = false, unbiased = true): Tensor<'f32'> {
  return reduce('std', x, axis, keepdim, unbiased ? 2 : 1, (X, b, n, s) => Math.sqrt(varRow(X, b, n, s, unbiased))) as Tensor<'f32'>;
}

/** Maximum along `axis`; NaN anywhere in a row gives NaN (as torch.max). */
export function max(x: Tensor<'f32'>, axis?: number, keepdim = false): Tensor<'f32'> {
  return reduce('max', x, axis, keepdim, 1, (X, b, n, s) => X[b + argRow(X, b, n, s, 1) * s]) as Tensor<'f32'>;
}

/** Minimum along `axis`; NaN anywhere in a row gives NaN (as torch.min). */
export function min(x: Tensor<'f32'>, axis?: number, keepdim = false): Tensor<'f32'> {
  return reduce('min', x, axis, keepdim, 1, (X, b, n, s) => X[b + argRow(X, b, n, s, -1) * s]) as Tensor<'f32'>;
}

/**
 * Index of the extreme of a row: sign 1 for max, -1 for min. Ties keep the first index; NaN
 * counts as beyond every number (the first NaN wins), as torch.argmax.
 */
function argRow(X: Float32Array, base: number, n: number, stride: number, sign: 1 | -1): number {
  let best = 0;
  let bv = X[base];
  if (Number.isNaN(bv)) return 0;
  for (let i = 1; i < n; i++) {
    const v = X[base + i * stride];
    if (Number.isNaN(v)) return i;
    if (sign > 0 ? v > bv : v < bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/** Index (i32) of the maximum along `axis` (flat index if undefined); first index on ties. */
export function argmax(x: Tensor<'f32'>, axis?: number, keepdim = false): Tensor<'i32'> {
  return reduce('argmax', x, axis, keepdim, 1, (X, b, n, s) => argRow(X, b, n, s, 1), true) as Tensor<'i32'>;
}

/** Index (i32) of the minimum along `axis`; first index on ties. */
export function argmin(x: Tensor<'f32'>, axis?: number, keepdim = false): Tensor<'i32'> {
  return reduce('argmin', x, axis, keepdim, 1, (X, b, n, s) => argRow(X, b, n, s, -1), true) as Tensor<'i32'>;
}

/**
 * Sum a broadcast result back to `shape` (the adjoint of numpy broadcasting): dims that x has
 * beyond `shape`'s rank and dims where `shape` is 1 are summed, in float64, rounded once.
 * @param x (...) whose shape is broadcast(shape, something)
 */
export function sumToShape(x: Tensor<'f32'>, shape: Shape): Tensor<'f32'> {
  const op = 'sumToShape';
  checkF32(op, x);
  if (shape.length === x.ndim && shape.every((d, i) => d === x.shape[i])) return x;
  const b = broadcastShapes(op, shape, x.shape);
  if (b.length !== x.ndim || b.some((d, i) => d !== x.shape[i])) {
    throw new ShapeError(op, `${fmtShape(x.shape)} is not a broadcast of ${fmtShape(shape)}`);
  }
  const offs = broadcastOffsets(x.shape, broadcastStrides(shape, x.shape));
  const acc = new Float64Array(prod(shape));
  const X = x.data as Float32Array;
  for (let i = 0; i < X.length; i++) acc[offs[i]] += X[i];
  return new Tensor('f32', shape, Float32Array.from(acc));
}
