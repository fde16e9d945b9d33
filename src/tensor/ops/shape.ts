/**
 * Reference semantics for layout ops: permute/transpose, concat, slice, tile, repeatInterleave,
 * broadcastTo and the reshape helpers. float32 storage; values are copied bit for bit into a
 * new contiguous tensor (reshape/flatten/squeeze/unsqueeze are views sharing storage, as
 * Tensor.reshape). Never optimized: speed lives in ../wasm.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { sameShape, Tensor, type Shape } from '../tensor.js';
import { axisSplit, broadcastOffsets, broadcastShapes, broadcastStrides, checkF32, checkInt, checkPerm, normAxis, prod, stridesOf } from './util.js';

/**
 * Axes reordered: out.shape[i] = x.shape[perm[i]] (torch.permute), copied.
 * @param perm a permutation of 0..ndim-1 (negative axes allowed)
 */
export function permute(x: Tensor<'f32'>, perm: readonly number[]): Tensor<'f32'> {
  const op = 'permute';
  checkF32(op, x);
  const p = checkPerm(op, perm, x.shape);
  const shape = p.map((a) => x.shape[a]);
  const xs = stridesOf(x.shape);
  const strides = p.map((a) => xs[a]);
  const offs = broadcastOffsets(shape, strides);
  const X = x.data as Float32Array;
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = X[offs[i]];
  return new Tensor('f32', shape, out);
}

/** Swap two axes (torch.transpose), copied. */
export function transpose(x: Tensor<'f32'>, a0 = -2, a1 = -1): Tensor<'f32'> {
  const p = x.shape.map((_, i) => i);
  const i0 = normAxis('transpose', a0, x.shape);
  const i1 = normAxis('transpose', a1, x.shape);
  p[i0] = i1;
  p[i1] = i0;
  return permute(x, p);
}

/** Inverse of a permutation: permute(permute(x, p), invertPerm(p)) = x. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((a, i) => (inv[a < 0 ? a + perm.length : a] = i));
  return inv;
}

/**
 * Concatenate along `axis`; all other dims must agree (torch.cat).
 * @param xs non-empty list of (..., n_i, ...)
 * @returns (..., sum n_i, ...)
 */
export function concat(xs: readonly Tensor<'f32'>[], axis = 0): Tensor<'f32'> {
  const op = 'concat';
  if (xs.length === 0) throw new ValueError(op, 'needs at least one tensor');
  checkF32(op, ...xs);
  const first = xs[0];
  const ax = normAxis(op, axis, first.shape);
  let total = 0;
  for (const t of xs) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(op, `shapes ${xs.map((u) => fmtShape(u.shape)).join(', ')} differ off axis ${axis}`);
    }
    total += t.shape[ax];
  }
  const [outer, , inner] = axisSplit(first.shape, ax);
  const out = new Float32Array(outer * total * inner);
  let at = 0;
  for (const t of xs) {
    const w = t.shape[ax] * inner;
    const T = t.data as Float32Array;
    for (let o = 0; o < outer; o++) out.set(T.subarray(o * w, (o + 1) * w), o * total * inner + at);
    at += w;
  }
  const shape = first.shape.slice();
  shape[ax] = total;
  return new Tensor('f32', shape, out);
}

/** Split along `axis` into pieces of the given sizes (inverse of concat). */
export function split(x: Tensor<'f32'>, sizes: readonly number[], axis = 0): Tensor<'f32'>[] {
  const op = 'split';
  checkF32(op, x);
  const ax = normAxis(op, axis, x.shape);
  const total = sizes.reduce((a, b) => a + b, 0);
  sizes.forEach((s) => checkInt(op, 'size', s));
  if (total !== x.shape[ax]) throw new ShapeError(op, `sizes [${sizes.join(',')}] do not sum to axis ${axis} of ${fmtShape(x.shape)}`);
  const out: Tensor<'f32'>[] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(slice(x, ax, at, at + s));
    at += s;
  }
  return out;
}

/**
 * Elements start, start+step, ... < end along `axis`, copied (x.narrow / x[..., a:b:s, ...]).
 * Negative start/end count from the end; after that 0 <= start <= end <= n is required
 * (no silent clamping). @returns x's shape with axis of size ceil((end-start)/step)
 */
export function slice(x: Tensor<'f32'>, axis: number, start: number, end?: number, step = 1): Tensor<'f32'> {
  const op = 'slice';
  checkF32(op, x);
  const ax = normAxis(op, axis, x.shape);
  const n = x.shape[ax];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > n || s > e) {
    throw new ValueError(op, `range [${start}, ${end}) outside axis ${axis} of size ${n} in ${fmtShape(x.shape)}`);
  }
  checkInt(op, 'step', step, 1);
  const m = Math.ceil((e - s) / step);
  const [outer, , inner] = axisSplit(x.shape, ax);
  const X = x.data as Float32Array;
  const out = new Float32Array(outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < m; t++) {
      const src = (o * n + s + t * step) * inner;
      out.set(X.subarray(src, src + inner), (o * m + t) * inner);
    }
  }
  const shape = x.shape.slice();
  shape[ax] = m;
  return new Tensor('f32', shape, out);
}

/**
 * np.tile / torch.Tensor.repeat: the whole tensor repeated reps[d] times along each axis;
 * reps may be longer than ndim (leading 1s are added to x's shape).
 * @returns shape[d] * reps[d]
 */
export function tile(x: Tensor<'f32'>, reps: readonly number[]): Tensor<'f32'> {
  const op = 'tile';
  checkF32(op, x);
  if (reps.length < x.ndim) throw new ValueError(op, `reps [${reps.join(',')}] shorter than rank of ${fmtShape(x.shape)}`);
  reps.forEach((r) => checkInt(op, 'repetition', r));
  const src = [...new Array<number>(reps.length - x.ndim).fill(1), ...x.shape];
  const shape = src.map((d, i) => d * reps[i]);
  const ss = stridesOf(src);
  const X = x.data as Float32Array;
  const out = new Float32Array(prod(shape));
  const nd = shape.length;
  const pos = new Array<number>(nd).fill(0);
  for (let i = 0; i < out.length; i++) {
    let off = 0;
    for (let d = 0; d < nd; d++) off += (pos[d] % src[d]) * ss[d];
    out[i] = X[off];
    for (let d = nd - 1; d >= 0; d--) {
      if (++pos[d] < shape[d]) break;
      pos[d] = 0;
    }
  }
  return new Tensor('f32', shape, out);
}

/** np.repeat / torch.repeat_interleave: each element repeated `repeats` times along `axis`. */
export function repeatInterleave(x: Tensor<'f32'>, repeats: number, axis: number): Tensor<'f32'> {
  const op = 'repeatInterleave';
  checkF32(op, x);
  checkInt(op, 'repeats', repeats);
  const ax = normAxis(op, axis, x.shape);
  const [, n] = axisSplit(x.shape, ax);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) for (let r = 0; r < repeats; r++) idx.push(i);
  const [outer, , inner] = axisSplit(x.shape, ax);
  const X = x.data as Float32Array;
  const m = idx.length;
  const out = new Float32Array(outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < m; t++) {
      const s0 = (o * n + idx[t]) * inner;
      out.set(X.subarray(s0, s0 + inner), (o * m + t) * inner);
    }
  }
  const shape = x.shape.slice();
  shape[ax] = m;
  return new Tensor('f32', shape, out);
}

/** x broadcast (numpy rules) to exactly `shape`, copied (torch.expand(...).contiguous()). */
export function broadcastTo(x: Tensor<'f32'>, shape: Shape): Tensor<'f32'> {
  const op = 'broadcastTo';
  checkF32(op, x);
  const b = broadcastShapes(op, x.shape, shape);
  if (!sameShape(b, shape)) throw new ShapeError(op, `cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  const offs = broadcastOffsets(shape, broadcastStrides(x.shape, shape));
  const X = x.data as Float32Array;
  const out = new Float32Array(offs.length);
  for (let i = 0; i < out.length; i++) out[i] = X[offs[i]];
  return new Tensor('f32', shape, out);
}

/** A view with a new shape (one entry may be -1); shares storage. */
export function reshape<T extends Tensor>(x: T, shape: Shape): T {
  return x.reshape(shape) as T;
}

/** A view with axes start..end (inclusive) merged into one. */
export function flatten<T extends Tensor>(x: T, start = 0, end = -1): T {
  if (x.ndim === 0) return x.reshape([1]) as T;
  const s = normAxis('flatten', start, x.shape);
  const e = normAxis('flatten', end, x.shape);
  if (s > e) throw new ValueError('flatten', `start ${start} after end ${end} for ${fmtShape(x.shape)}`);
  return x.reshape([...x.shape.slice(0, s), prod(x.shape, s, e + 1), ...x.shape.slice(e + 1)]) as T;
}

/** A view with a size-1 axis inserted at `axis` (in [-ndim-1, ndim]). */
export function unsqueeze<T extends Tensor>(x: T, axis: number): T {
  const n = x.ndim + 1;
  if (!Number.isInteger(axis) || axis < -n || axis >= n) throw new ValueError('unsqueeze', `axis ${axis} out of range for ${fmtShape(x.shape)}`);
  const a = axis < 0 ? axis + n : axis;
  const shape = x.shape.slice();
  shape.splice(a, 0, 1);
  return x.reshape(shape) as T;
}

/** A view with the size-1 axis `axis` removed (ShapeError if its size is not 1). */
export function squeeze<T extends Tensor>(x: T, axis: number): T {
  const a = normAxis('squeeze', axis, x.shape);
  if (x.shape[a] !== 1) throw new ShapeError('squeeze', `axis ${axis} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
  const shape = x.shape.slice();
  shape.splice(a, 1);
  return x.reshape(shape) as T;
}
