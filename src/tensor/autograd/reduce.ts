/**
 * Differentiable reductions along one axis (or all). sum/mean spread the gradient evenly;
 * max/min send it to the first extreme index (argmax's tie rule), like torch's amax on a
 * unique maximum.
 */
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { result, type Var } from './var.js';

/** g (reduced shape) broadcast back to x's shape, times c. */
function spread(g: Tensor<'f32'>, x: Var, axis: number | undefined, c: number): Tensor<'f32'> {
  const kshape = axis === undefined ? x.shape.map(() => 1) : x.shape.map((d, i) => (i === ops.normAxis('reduce', axis, x.shape) ? 1 : d));
  const b = ops.broadcastTo(g.reshape(kshape), x.shape);
  return c === 1 ? b : ops.scale(b, c);
}

export function sum(x: Var, axis?: number, keepdim = false): Var {
  return result('sum', ops.sum(x.value, axis, keepdim), [x], () => (g) => [spread(g, x, axis, 1)]);
}

export function mean(x: Var, axis?: number, keepdim = false): Var {
  const n = axis === undefined ? x.size : x.shape[ops.normAxis('mean', axis, x.shape)];
  return result('mean', ops.mean(x.value, axis, keepdim), [x], () => (g) => [spread(g, x, axis, 1 / n)]);
}

function extreme(op: 'max' | 'min', x: Var, axis: number | undefined, keepdim: boolean): Var {
  const y = op === 'max' ? ops.max(x.value, axis, keepdim) : ops.min(x.value, axis, keepdim);
  return result(op, y, [x], () => (g) => {
    const arg = op === 'max' ? ops.argmax(x.value, axis, true) : ops.argmin(x.value, axis, true);
    const A = arg.data as Int32Array;
    const G = g.data as Float32Array;
    const dx = new Float32Array(x.size);
    if (axis === undefined) {
      dx[A[0]] = G[0];
    } else {
      const ax = ops.normAxis(op, axis, x.shape);
      const n = x.shape[ax];
      const inner = x.shape.slice(ax + 1).reduce((p, q) => p * q, 1);
      for (let k = 0; k < A.length; k++) {
        const o = Math.floor(k / inner);
        const r = k % inner;
        dx[(o * n + A[k]) * inner + r] = G[k];
      }
    }
    return [new Tensor('f32', x.shape, dx)];
  });
}

/** Maximum along axis; the gradient goes to the first maximal entry. */
export function max(x: Var, axis?: number, keepdim = false): Var {
  return extreme('max', x, axis, keepdim);
}

/** Minimum along axis; the gradient goes to the first minimal entry. */
export function min(x: Var, axis?: number, keepdim = false): Var {
  return extreme('min', x, axis, keepdim);
}
