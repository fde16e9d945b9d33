/**
 * Reference semantics for sort (stable) and topk along one axis. float32 storage for values,
 * i32 for indices; values are copied bit for bit. NaN has no order, so a NaN along the sorted
 * axis is a ValueError. Never optimized: speed lives in ../wasm.
 */
import { ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { axisSplit, checkF32, checkInt, normAxis } from './util.js';

export interface SortResult {
  values: Tensor<'f32'>;
  indices: Tensor<'i32'>;
}

/** Sorted (values, indices) of the first k entries of each row; ties keep the lower index first. */
function sortRows(op: string, x: Tensor<'f32'>, axis: number, k: number, descending: boolean): SortResult {
  checkF32(op, x);
  const ax = normAxis(op, axis, x.shape);
  const [outer, n, inner] = axisSplit(x.shape, ax);
  checkInt(op, 'k', k);
  if (k > n) throw new ValueError(op, `k = ${k} exceeds axis ${axis} of size ${n} in ${fmtShape(x.shape)}`);
  const X = x.data as Float32Array;
  const shape = x.shape.slice();
  shape[ax] = k;
  const vals = new Float32Array(outer * k * inner);
  const idx = new Int32Array(outer * k * inner);
  const order = new Array<number>(n);
  const row = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      const base = o * n * inner + r;
      for (let i = 0; i < n; i++) {
        const v = X[base + i * inner];
        if (Number.isNaN(v)) throw new ValueError(op, `NaN at position ${i} of a row along axis ${axis} in ${fmtShape(x.shape)}`);
        row[i] = v;
        order[i] = i;
      }
      // Array.prototype.sort is stable (ES2019); the index tiebreak makes that explicit.
      order.sort((i, j) => (row[i] === row[j] ? i - j : descending ? row[j] - row[i] : row[i] - row[j]));
      const ob = o * k * inner + r;
      for (let t = 0; t < k; t++) {
        vals[ob + t * inner] = X[base + order[t] * inner];
        idx[ob + t * inner] = order[t];
      }
    }
  }
  return { values: new Tensor('f32', shape, vals), indices: new Tensor('i32', shape, idx) };
}

/**
 * Stable sort along `axis` (default -1), ascending unless `descending`. Equal values keep
 * their original order; -0 and +0 compare equal. @returns values and i32 indices, x's shape
 */
export function sort(x: Tensor<'f32'>, axis = -1, descending = false): SortResult {
  const n = x.ndim === 0 ? 0 : x.shape[normAxis('sort', axis, x.shape)];
  return sortRows('sort', x, axis, n, descending);
}

/**
 * The k largest (or smallest) entries along `axis`, sorted, ties resolved to the lower index
 * first. @returns values and i32 indices with axis of size k
 */
export function topk(x: Tensor<'f32'>, k: number, axis = -1, largest = true): SortResult {
  return sortRows('topk', x, axis, k, largest);
}
