/**
 * Shared checks and index arithmetic for the reference ops: axis normalisation, numpy
 * broadcasting, row-major strides. Not an op itself; nothing here allocates tensor storage.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { sameShape, type Shape, type Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';

/** Throw DTypeError naming `op` unless every tensor is f32. */
export function checkF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32') throw new DTypeError(op, `expected f32, got ${t.dtype} ${fmtShape(t.shape)}`);
  }
}

/** Throw DTypeError unless `t` has one of `dtypes`. */
export function checkDType(op: string, what: string, t: Tensor, dtypes: readonly DType[]): void {
  if (!dtypes.includes(t.dtype)) {
    throw new DTypeError(op, `${what} must be ${dtypes.join('|')}, got ${t.dtype} ${fmtShape(t.shape)}`);
  }
}

/** Axis in [-ndim, ndim) mapped to [0, ndim); anything else is a ValueError naming op and shape. */
export function normAxis(op: string, axis: number, shape: Shape): number {
  const n = shape.length;
  if (!Number.isInteger(axis) || axis < -n || axis >= n) {
    throw new ValueError(op, `axis ${axis} out of range for shape ${fmtShape(shape)}`);
  }
  return axis < 0 ? axis + n : axis;
}

/** A finite integer >= min, else ValueError. */
export function checkInt(op: string, what: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min) throw new ValueError(op, `${what} must be an integer >= ${min}, got ${v}`);
}

/** A number that is not NaN (Infinity allowed), else ValueError. */
export function checkNumber(op: string, what: string, v: number): void {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new ValueError(op, `${what} must be a number, got ${v}`);
}

/** Row-major strides of a contiguous shape. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Product of shape[from, to). */
export function prod(shape: Shape, from = 0, to = shape.length): number {
  let n = 1;
  for (let d = from; d < to; d++) n *= shape[d];
  return n;
}

/** (outer, n, inner) split of `shape` around `axis`: index = (o * n + i) * inner + r. */
export function axisSplit(shape: Shape, axis: number): [outer: number, n: number, inner: number] {
  return [prod(shape, 0, axis), shape[axis], prod(shape, axis + 1)];
}

/** numpy broadcast of several shapes (right-aligned; a dim of 1 stretches), or ShapeError. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    const off = nd - s.length;
    for (let d = 0; d < s.length; d++) {
      const v = s[d];
      const o = out[off + d];
      if (o === 1) out[off + d] = v;
      else if (v !== 1 && v !== o) {
        throw new ShapeError(op, `cannot broadcast shapes ${shapes.map(fmtShape).join(' and ')}`);
      }
    }
  }
  return out;
}

/**
 * Strides of `shape` seen through the broadcast `outShape`: 0 on stretched or missing dims,
 * so element `idx` of the output reads `sum idx[d] * strides[d]` of the input.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = stridesOf(shape);
  const off = outShape.length - shape.length;
  const out = new Array<number>(outShape.length).fill(0);
  for (let d = 0; d < shape.length; d++) out[off + d] = shape[d] === 1 ? 0 : own[d];
  return out;
}

/**
 * For each flat output index of `outShape`, the flat input offset through `strides`
 * (from broadcastStrides). Int32Array of length numel(outShape).
 */
export function broadcastOffsets(outShape: Shape, strides: readonly number[]): Int32Array {
  const n = prod(outShape);
  const offs = new Int32Array(n);
  const nd = outShape.length;
  if (n === 0) return offs;
  const idx = new Array<number>(nd).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    offs[i] = off;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < outShape[d]) break;
      off -= strides[d] * idx[d];
      idx[d] = 0;
    }
  }
  return offs;
}

/** Is `perm` a permutation of 0..n-1? */
export function checkPerm(op: string, perm: readonly number[], shape: Shape): number[] {
  const n = shape.length;
  if (perm.length !== n) throw new ValueError(op, `permutation [${perm.join(',')}] has length ${perm.length}, shape ${fmtShape(shape)} has rank ${n}`);
  const seen = new Array<boolean>(n).fill(false);
  const out = perm.map((p) => normAxis(op, p, shape));
  for (const p of out) {
    if (seen[p]) throw new ValueError(op, `permutation [${perm.join(',')}] repeats axis ${p}`);
    seen[p] = true;
  }
  return out;
}

/** Throw ShapeError unless the shapes are identical (ops that, unlike torch, refuse implicit broadcast). */
export function checkSameShape(op: string, a: Tensor, b: Tensor, names = ['a', 'b']): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(op, `${names[0]} ${fmtShape(a.shape)} and ${names[1]} ${fmtShape(b.shape)} must have the same shape`);
  }
}

/**
 * If `small` (leading 1s ignored) equals the trailing dims of `big`, the broadcast of small to
 * big repeats it with period numel(small): element i reads small[i % period]. Returns that
 * period, or 0 when the broadcast is not of this suffix form (then use broadcastOffsets).
 */
export function suffixPeriod(small: Shape, big: Shape): number {
  let lead = 0;
  while (lead < small.length && small[lead] === 1) lead++;
  const tail = small.length - lead;
  if (tail > big.length) return 0;
  for (let d = 0; d < tail; d++) if (small[lead + d] !== big[big.length - tail + d]) return 0;
  if (small.length > big.length) return 0;
  return prod(small);
}
