/**
 * Fast masked softmax, the twin of ../ops/softmax.ts `softmax`.
 *
 * Bound vs the reference: 0, bit-exact (NaN rows are NaN in both). The kernel
 * (softmax-emit.ts) reproduces the reference's float32 max, its float64 exp (../math.ts,
 * operation for operation), the sequential float64 sum and the float64 division. So the
 * reference's guarantees hold unchanged: hidden entries are exactly 0, a row with one visible
 * entry is exactly 1 there, a fully hidden row is all zeros, no NaN unless the input holds
 * NaN or +Infinity.
 *
 * Fast path: the last axis, with no mask or a u8 mask whose broadcast to x is a suffix
 * broadcast covering whole rows (e.g. an (N, N) attention mask over (B, H, N, N) scores).
 * Other axes, f32 additive masks and other broadcasts run the reference.
 */
import { Tensor } from '../tensor.js';
import { softmax as softmaxRef } from '../ops/softmax.js';
import { checkDType, checkF32, normAxis, suffixPeriod } from '../ops/util.js';
import { compileKernel } from '../wasm/compile.js';
import { hasSimd128 } from '../wasm/probe.js';
import { runTasks } from '../threads/pool.js';
import { SOFTMAX_EXPORT, SOFTMAX_SPEC, emitSoftmax, softmaxScratchBytes } from './softmax-emit.js';
import { allocF32, onHeap, splitRange, threadsFor } from './stage.js';
import { checkTwin, validating } from './validate.js';

/** Rows of the (maskRows, n) table a u8 mask stands for, or 0 when the fast path cannot take it. */
function maskRowsOf(mask: Tensor, shape: readonly number[], n: number): number {
  if (mask.ndim > shape.length) return 0;
  const period = suffixPeriod(mask.shape, shape);
  return period > 0 && period % n === 0 ? period / n : 0;
}

/**
 * softmax(x masked) along `axis`, bit-identical to ../ops softmax.
 * @param x (...) logits
 * @param axis default -1
 * @param mask broadcastable to x: u8 (1 = keep, 0 = hide) or f32 additive
 * @returns same shape as x
 */
export function softmax(x: Tensor<'f32'>, axis = -1, mask?: Tensor | null): Tensor<'f32'> {
  checkF32('softmax', x);
  const ax = normAxis('softmax', axis, x.shape);
  if (mask) checkDType('softmax', 'mask', mask, ['f32', 'u8']);
  const n = x.shape[ax];
  const maskRows = mask && mask.dtype === 'u8' ? maskRowsOf(mask, x.shape, n) : 0;
  if (ax !== x.ndim - 1 || (mask && maskRows === 0) || x.size === 0 || !hasSimd128()) return softmaxRef(x, axis, mask);
  const rows = x.size / n;
  const k = compileKernel(SOFTMAX_SPEC, emitSoftmax);
  const ranges = splitRange(rows, threadsFor(x.size * 16), 4);
  const scr = softmaxScratchBytes(n);
  const mbytes = mask ? maskRows * n : 0;
  const out = allocF32(x.size);
  const ins = mask ? [x.data as Float32Array, (mask.data as Uint8Array).subarray(0, mbytes)] : [x.data as Float32Array];
  onHeap(ins, [out], [scr * ranges.length], ([px, pm = 0], [py], [ps]) => {
    runTasks(k, SOFTMAX_EXPORT, ranges.map(([r0, r1], t) => [px, py, n, r0, r1, pm, Math.max(maskRows, 1), ps + t * scr]));
  });
  if (validating()) checkTwin(k.name, out, () => softmaxRef(x, axis, mask).data as Float32Array);
  return new Tensor('f32', x.shape, out);
}
