/**
 * Fast LayerNorm over the last axis, the twin of ../ops/norm.ts `layerNorm`.
 *
 * Bound vs the reference: 0, bit-exact. The kernel (layer-norm-emit.ts) performs the
 * reference's float64 operations in the reference's order (sequential sums j ascending,
 * mean = s / D, two-pass variance, rstd = 1 / sqrt(var + eps), ((x - m)·rstd)·g + b rounded
 * to float32 once); SIMD lanes hold different rows or different columns, never parts of
 * one sum. Without SIMD128 the reference runs.
 */
import { Tensor } from '../tensor.js';
import { checkLayerNorm, layerNorm as layerNormRef } from '../ops/norm.js';
import { compileKernel } from '../wasm/compile.js';
import { hasSimd128 } from '../wasm/probe.js';
import { runTasks } from '../threads/pool.js';
import { LAYER_NORM_EXPORT, LAYER_NORM_SPEC, emitLayerNorm } from './layer-norm-emit.js';
import { allocF32, onHeap, splitRange, threadsFor } from './stage.js';
import { checkTwin, validating } from './validate.js';

/** gamma / beta as float64, padded to a multiple of 4 (the kernel reads 4 at a time); absent -> 1 / -0. */
function affine64(p: Tensor<'f32'> | null, D: number, absent: number): Float64Array {
  const out = new Float64Array(Math.ceil(D / 4) * 4).fill(absent);
  if (p) out.set(p.data as Float32Array);
  return out;
}

/**
 * LayerNorm over the last axis, as torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps);
 * bit-identical to ../ops layerNorm.
 * @param x (..., D)
 * @param gamma (D) scale, or null for 1
 * @param beta (D) shift, or null for 0
 * @param eps added to the biased variance
 * @returns (..., D)
 */
export function layerNorm(x: Tensor<'f32'>, gamma: Tensor<'f32'> | null, beta: Tensor<'f32'> | null, eps = 1e-5): Tensor<'f32'> {
  const D = checkLayerNorm('layerNorm', x, gamma, beta, eps);
  const rows = x.size / D;
  if (rows === 0 || !hasSimd128()) return layerNormRef(x, gamma, beta, eps);
  const k = compileKernel(LAYER_NORM_SPEC, emitLayerNorm);
  const g = affine64(gamma, D, 1);
  const b = affine64(beta, D, -0);
  const out = allocF32(x.size);
  onHeap([x.data as Float32Array, g, b, new Float64Array([eps])], [out], [], ([px, pg, pb, pe], [py]) => {
    const ranges = splitRange(rows, threadsFor(x.size * 4), 4);
    runTasks(k, LAYER_NORM_EXPORT, ranges.map(([r0, r1]) => [px, py, D, r0, r1, pg, pb, pe]));
  });
  if (validating()) checkTwin(k.name, out, () => layerNormRef(x, gamma, beta, eps).data as Float32Array);
  return new Tensor('f32', x.shape, out);
}
