/**
 * Reference semantics for gather and indexSelect along an axis. float32 storage; values are
 * copied bit for bit. Indices are i32 (or a number array for indexSelect); negative or
 * out-of-range indices are a ValueError naming the op, position and shape.
 * Never optimized: speed lives in ../wasm.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { axisSplit, checkDType, checkF32, normAxis } from './util.js';

/** Indices as an Int32Array, each checked to lie in [0, n). */
export function checkIndices(op: string, index: Tensor | readonly number[], n: number, shape: readonly number[]): Int32Array {
  let I: Int32Array;
  if (index instanceof Tensor) {
    checkDType(op, 'index', index, ['i32']);
    I = index.data as Int32Array;
  } else {
    I = new Int32Array(index.length);
    for (let i = 0; i < index.length; i++) {
      if (!Number.isInteger(index[i])) throw new ValueError(op, `index ${index[i]} at ${i} is not an integer`);
      I[i] = index[i];
    }
  }
  for (let i = 0; i < I.length; i++) {
    if (I[i] < 0 || I[i] >= n) throw new ValueError(op, `index ${I[i]} at ${i} outside [0, ${n}) for input ${fmtShape(shape)}`);
  }
  return I;
}

/**
 * Rows of x at `indices` along `axis`, as torch.index_select.
 * @param x (..., n, ...)
 * @param indices (m) i32 tensor or integers in [0, n)
 * @returns x's shape with axis of size m
 */
export function indexSelect(x: Tensor<'f32'>, axis: number, indices: Tensor | readonly number[]): Tensor<'f32'> {
  const op = 'indexSelect';
  checkF32(op, x);
  const ax = normAxis(op, axis, x.shape);
  if (indices instanceof Tensor && indices.ndim !== 1) throw new ShapeError(op, `indices must be 1-D, got ${fmtShape(indices.shape)}`);
  const [outer, n, inner] = axisSplit(x.shape, ax);
  const I = checkIndices(op, indices, n, x.shape);
  const m = I.length;
  const X = x.data as Float32Array;
  const out = new Float32Array(outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < m; t++) {
      const src = (o * n + I[t]) * inner;
      out.set(X.subarray(src, src + inner), (o * m + t) * inner);
    }
  }
  const shape = x.shape.slice();
  shape[ax] = m;
  return new Tensor('f32', shape, out);
}

/**
 * torch.gather: out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis`.
 * @param x (d0, ..., dn)
 * @param index i32 of the same rank, index.shape[d] <= x.shape[d] for d != axis
 * @returns index's shape
 */
export function gather(x: Tensor<'f32'>, axis: number, index: Tensor): Tensor<'f32'> {
  const op = 'gather';
  checkF32(op, x);
  checkDType(op, 'index', index, ['i32']);
  const ax = normAxis(op, axis, x.shape);
  if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== ax && d > x.shape[i])) {
    throw new ShapeError(op, `index ${fmtShape(index.shape)} must have the rank of input ${fmtShape(x.shape)} and no larger dims off axis ${axis}`);
  }
  const I = checkIndices(op, index, x.shape[ax], x.shape);
  const X = x.data as Float32Array;
  const out = new Float32Array(index.size);
  const nd = x.ndim;
  const xs = new Array<number>(nd);
  let acc = 1;
  for (let d = nd - 1; d >= 0; d--) {
    xs[d] = acc;
    acc *= x.shape[d];
  }
  const pos = new Array<number>(nd).fill(0);
  for (let i = 0; i < out.length; i++) {
    let off = 0;
    for (let d = 0; d < nd; d++) off += (d === ax ? I[i] : pos[d]) * xs[d];
    out[i] = X[off];
    for (let d = nd - 1; d >= 0; d--) {
      if (++pos[d] < index.shape[d]) break;
      pos[d] = 0;
    }
  }
  return new Tensor('f32', index.shape, out);
}
