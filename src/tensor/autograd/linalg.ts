/**
 * Differentiable matmul and linear. Backward products are matmuls too, so they go through the
 * GEMM backend. For C = op(A) op(B):
 *   d op(A) = G op(B)^T,  d op(B) = op(A)^T G,  and dA = (d op(A))^T when A is used transposed.
 * Broadcast batch dims are summed back to each operand's shape.
 */
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { result, type Var } from './var.js';

/** Batched op(a) op(b) (see ops.matmul). @param a (..., M, K) @param b (..., K, N) */
export function matmul(a: Var, b: Var, opts: ops.MatmulOptions = {}): Var {
  const tA = opts.transA ?? false;
  const tB = opts.transB ?? false;
  return result('matmul', ops.matmul(a.value, b.value, opts), [a, b], () => (g) => {
    let ga: Tensor<'f32'> | null = null;
    let gb: Tensor<'f32'> | null = null;
    if (a.requiresGrad) {
      ga = tA ? ops.matmul(b.value, g, { transA: tB, transB: true }) : ops.matmul(g, b.value, { transB: !tB });
      ga = ops.sumToShape(ga, a.shape);
    }
    if (b.requiresGrad) {
      gb = tB ? ops.matmul(g, a.value, { transA: true, transB: tA }) : ops.matmul(a.value, g, { transA: !tA });
      gb = ops.sumToShape(gb, b.shape);
    }
    return [ga, gb];
  });
}

/**
 * y = x W^T + b. @param x (..., K) @param w (N, K) @param bias (N) or null @returns (..., N)
 * Gradients: dx = G W, dW = G^T x (rows flattened), db = sum of G over rows.
 */
export function linear(x: Var, w: Var, bias: Var | null = null): Var {
  const inputs = bias ? [x, w, bias] : [x, w];
  return result('linear', ops.linear(x.value, w.value, bias?.value ?? null), inputs, () => (g) => {
    const [N, K] = w.shape;
    const g2 = g.reshape([-1, N]);
    const gx = x.requiresGrad ? ops.matmul(g2, w.value).reshape(x.shape) : null;
    const gw = w.requiresGrad ? ops.matmul(g2, x.value.reshape([-1, K]), { transA: true }) : null;
    const gbias = bias && bias.requiresGrad ? ops.sum(g2, 0) : null;
    return bias ? [gx, gw, gbias] : [gx, gw];
  });
}
