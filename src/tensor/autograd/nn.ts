/**
 * Differentiable LayerNorm, GELU, masked softmax and MSE. Backward passes compute per row in
 * float64 (like the forward ops) and round once to float32. Forward values come from the fast
 * kernels (../fast), the same values inference computes: LayerNorm and softmax equal the
 * reference ops bit for bit, GELU within 1 float32 ulp.
 */
import * as fast from '../fast/index.js';
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { zipMap } from './elementwise.js';
import { result, type Var } from './var.js';

/**
 * LayerNorm over the last axis. @param x (..., D) @param gamma (D) | null @param beta (D) | null
 * With xhat = (x - mean) rstd and gy = g gamma:
 *   dx = rstd (gy - mean(gy) - xhat mean(gy xhat)),  dgamma = sum_rows g xhat,  dbeta = sum_rows g.
 */
export function layerNorm(x: Var, gamma: Var | null, beta: Var | null, eps = 1e-5): Var {
  const y = fast.layerNorm(x.value, gamma?.value ?? null, beta?.value ?? null, eps);
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  return result('layerNorm', y, inputs, () => (g) => {
    const D = x.shape[x.ndim - 1];
    const rows = x.size / D;
    const X = x.value.data as Float32Array;
    const G = g.data as Float32Array;
    const Gm = gamma ? (gamma.value.data as Float32Array) : null;
    const { mean, rstd } = ops.layerNormStats(X, rows, D, eps);
    const dx = x.requiresGrad ? new Float32Array(x.size) : null;
    const dg = new Float64Array(D);
    const db = new Float64Array(D);
    const xh = new Float64Array(D);
    const gy = new Float64Array(D);
    for (let r = 0; r < rows; r++) {
      const o = r * D;
      let sg = 0;
      let sgx = 0;
      for (let i = 0; i < D; i++) {
        xh[i] = (X[o + i] - mean[r]) * rstd[r];
        gy[i] = Gm ? G[o + i] * Gm[i] : G[o + i];
        sg += gy[i];
        sgx += gy[i] * xh[i];
        dg[i] += G[o + i] * xh[i];
        db[i] += G[o + i];
      }
      if (dx) for (let i = 0; i < D; i++) dx[o + i] = rstd[r] * (gy[i] - sg / D - (xh[i] * sgx) / D);
    }
    const out: (Tensor<'f32'> | null)[] = [dx ? new Tensor('f32', x.shape, dx) : null];
    if (gamma) out.push(gamma.requiresGrad ? new Tensor('f32', [D], Float32Array.from(dg)) : null);
    if (beta) out.push(beta.requiresGrad ? new Tensor('f32', [D], Float32Array.from(db)) : null);
    return out;
  });
}

/** Exact GELU; gradient g (Phi(x) + x phi(x)). */
export function gelu(x: Var): Var {
  return result('gelu', fast.gelu(x.value), [x], () => (g) => [zipMap(g, x.value, (gi, v) => gi * ops.geluGradScalar(v))]);
}

/**
 * Masked softmax along `axis` (see ops.softmax; the mask is a constant tensor).
 * Gradient dx = y (g - sum_j g_j y_j) per row: hidden entries have y = 0 and get exactly 0,
 * a lone visible entry (y = 1) gets g - g = 0, fully hidden rows get 0; never NaN.
 */
export function softmax(x: Var, axis = -1, mask?: Tensor | null): Var {
  const y = fast.softmax(x.value, axis, mask);
  return result('softmax', y, [x], () => (g) => {
    const ax = ops.normAxis('softmax', axis, x.shape);
    const n = x.shape[ax];
    const inner = x.shape.slice(ax + 1).reduce((p, q) => p * q, 1);
    const outer = x.size / (n * inner || 1);
    const Y = y.data as Float32Array;
    const G = g.data as Float32Array;
    const dx = new Float32Array(x.size);
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < inner; r++) {
        const base = o * n * inner + r;
        let s = 0;
        for (let i = 0; i < n; i++) s += G[base + i * inner] * Y[base + i * inner];
        for (let i = 0; i < n; i++) {
          const k = base + i * inner;
          dx[k] = Y[k] === 0 ? 0 : Y[k] * (G[k] - s);
        }
      }
    }
    return [new Tensor('f32', x.shape, dx)];
  });
}

/**
 * Mean squared error (see ops.mseLoss). Gradient 2 (p - t) g / n for 'mean', 2 (p - t) g for
 * 'sum', elementwise for 'none'; the target gets the negative.
 */
export function mseLoss(pred: Var, target: Var, reduction: ops.Reduction = 'mean'): Var {
  const y = ops.mseLoss(pred.value, target.value, reduction);
  return result('mseLoss', y, [pred, target], () => (g) => {
    const P = pred.value.data as Float32Array;
    const T = target.value.data as Float32Array;
    const G = g.data as Float32Array;
    const c = reduction === 'mean' ? 2 / pred.size : 2;
    const d = new Float32Array(pred.size);
    for (let i = 0; i < d.length; i++) d[i] = c * (P[i] - T[i]) * (reduction === 'none' ? G[i] : G[0]);
    const gp = new Tensor('f32', pred.shape, d);
    return [pred.requiresGrad ? gp : null, target.requiresGrad ? ops.neg(gp) : null];
  });
}
