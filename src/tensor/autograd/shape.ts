/**
 * Differentiable layout ops: reshape, permute/transpose, concat, split, slice, tile,
 * broadcastTo, gather, indexSelect, im2patch. Each backward is the adjoint copy (scatter or
 * scatter-add), exact in float32 except where several entries add up (tile, gather, indexSelect,
 * broadcastTo: summed in float64, rounded once).
 */
import { ValueError, fmtShape } from '../errors.js';
import * as ops from '../ops/index.js';
import { Tensor, type Shape } from '../tensor.js';
import { result, type Var } from './var.js';

/** A view with a new shape (one -1 allowed); gradient reshaped back. */
export function reshape(x: Var, shape: Shape): Var {
  return result('reshape', x.value.reshape(shape), [x], () => (g) => [g.reshape(x.shape)]);
}

/** Axes reordered (out.shape[i] = x.shape[perm[i]]); gradient permuted by the inverse. */
export function permute(x: Var, perm: readonly number[]): Var {
  return result('permute', ops.permute(x.value, perm), [x], () => (g) => [ops.permute(g, ops.invertPerm(perm.map((p) => (p < 0 ? p + x.ndim : p))))]);
}

/** Swap two axes. */
export function transpose(x: Var, a0 = -2, a1 = -1): Var {
  const p = x.shape.map((_, i) => i);
  const i0 = ops.normAxis('transpose', a0, x.shape);
  const i1 = ops.normAxis('transpose', a1, x.shape);
  p[i0] = i1;
  p[i1] = i0;
  return permute(x, p);
}

/** Concatenate along `axis`; gradient split back into the pieces. */
export function concat(xs: readonly Var[], axis = 0): Var {
  const y = ops.concat(xs.map((v) => v.value), axis);
  return result('concat', y, xs, () => (g) => ops.split(g, xs.map((v) => v.shape[ops.normAxis('concat', axis, v.shape)]), axis));
}

/** Split along `axis` into the given sizes (each piece a differentiable slice). */
export function split(x: Var, sizes: readonly number[], axis = 0): Var[] {
  const ax = ops.normAxis('split', axis, x.shape);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== x.shape[ax]) throw new ValueError('split', `sizes [${sizes.join(',')}] do not sum to axis ${axis} of ${fmtShape(x.shape)}`);
  const out: Var[] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(slice(x, ax, at, at + s));
    at += s;
  }
  return out;
}

/** Elements start..end (step) along `axis` (see ops.slice); gradient scattered into zeros. */
export function slice(x: Var, axis: number, start: number, end?: number, step = 1): Var {
  const y = ops.slice(x.value, axis, start, end, step);
  return result('slice', y, [x], () => (g) => {
    const ax = ops.normAxis('slice', axis, x.shape);
    const n = x.shape[ax];
    const s = start < 0 ? start + n : start;
    const m = y.shape[ax];
    const inner = x.shape.slice(ax + 1).reduce((p, q) => p * q, 1);
    const outer = x.size / (n * inner || 1);
    const G = g.data as Float32Array;
    const dx = new Float32Array(x.size);
    for (let o = 0; o < outer; o++) {
      for (let t = 0; t < m; t++) {
        const src = (o * m + t) * inner;
        dx.set(G.subarray(src, src + inner), (o * n + s + t * step) * inner);
      }
    }
    return [new Tensor('f32', x.shape, dx)];
  });
}

/** Scatter-add g (shape `outShape`) into x's shape through a flat index map (out index -> x index). */
function scatterAdd(g: Tensor<'f32'>, xShape: Shape, srcOf: (i: number) => number): Tensor<'f32'> {
  const acc = new Float64Array(xShape.reduce((a, b) => a * b, 1));
  const G = g.data as Float32Array;
  for (let i = 0; i < G.length; i++) acc[srcOf(i)] += G[i];
  return new Tensor('f32', xShape, Float32Array.from(acc));
}

/** Row-major strides of a shape. */
function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** np.tile / torch.repeat (see ops.tile); gradient sums the copies. */
export function tile(x: Var, reps: readonly number[]): Var {
  const y = ops.tile(x.value, reps);
  return result('tile', y, [x], () => (g) => {
    const src = [...new Array<number>(reps.length - x.ndim).fill(1), ...x.shape];
    const ss = strides(src);
    const ys = strides(y.shape);
    return [
      scatterAdd(g, x.shape, (i) => {
        let off = 0;
        for (let d = 0; d < src.length; d++) off += (Math.floor(i / ys[d]) % y.shape[d] % src[d]) * ss[d];
        return off;
      }),
    ];
  });
}

/** np.repeat along `axis`; gradient sums each run of copies. */
export function repeatInterleave(x: Var, repeats: number, axis: number): Var {
  const y = ops.repeatInterleave(x.value, repeats, axis);
  return result('repeatInterleave', y, [x], () => (g) => {
    const ax = ops.normAxis('repeatInterleave', axis, x.shape);
    const ys = strides(y.shape);
    const xs = strides(x.shape);
    return [
      scatterAdd(g, x.shape, (i) => {
        let off = 0;
        for (let d = 0; d < x.ndim; d++) {
          const c = Math.floor(i / ys[d]) % y.shape[d];
          off += (d === ax ? Math.floor(c / repeats) : c) * xs[d];
        }
        return off;
      }),
    ];
  });
}

/** x broadcast to `shape` (copied); gradient summed back (sumToShape). */
export function broadcastTo(x: Var, shape: Shape): Var {
  return result('broadcastTo', ops.broadcastTo(x.value, shape), [x], () => (g) => [ops.sumToShape(g, x.shape)]);
}

/** torch.gather along `axis` with a constant i32 index; gradient scatter-added. */
export function gather(x: Var, axis: number, index: Tensor): Var {
  const y = ops.gather(x.value, axis, index);
  return result('gather', y, [x], () => (g) => {
    const ax = ops.normAxis('gather', axis, x.shape);
    const xs = strides(x.shape);
    const is = strides(index.shape);
    const I = index.data as Int32Array;
    return [
      scatterAdd(g, x.shape, (i) => {
        let off = 0;
        for (let d = 0; d < x.ndim; d++) off += (d === ax ? I[i] : Math.floor(i / is[d]) % index.shape[d]) * xs[d];
        return off;
      }),
    ];
  });
}

/** Rows at `indices` along `axis` (constant); gradient scatter-added (repeated indices sum). */
export function indexSelect(x: Var, axis: number, indices: Tensor | readonly number[]): Var {
  const y = ops.indexSelect(x.value, axis, indices);
  return result('indexSelect', y, [x], () => (g) => {
    const ax = ops.normAxis('indexSelect', axis, x.shape);
    const I = ops.checkIndices('indexSelect', indices, x.shape[ax], x.shape);
    const xs = strides(x.shape);
    const ys = strides(y.shape);
    return [
      scatterAdd(g, x.shape, (i) => {
        let off = 0;
        for (let d = 0; d < x.ndim; d++) {
          const c = Math.floor(i / ys[d]) % y.shape[d];
          off += (d === ax ? I[c] : c) * xs[d];
        }
        return off;
      }),
    ];
  });
}

/** Patchify (B, C, H, W) -> (B, N, C p p); gradient is patch2im (a permutation). */
export function im2patch(x: Var, p: number): Var {
  return result('im2patch', ops.im2patch(x.value, p), [x], () => (g) => [ops.patch2im(g, p, x.shape[2], x.shape[3])]);
}
