/**
 * Reference semantics for the mean squared error. float32 storage; squared differences of
 * the float32 inputs are accumulated in float64 (index order) and rounded once.
 * Never optimized: speed lives in ../wasm.
 */
import { ValueError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { checkF32, checkSameShape } from './util.js';

export type Reduction = 'mean' | 'sum' | 'none';

/**
 * torch.nn.functional.mse_loss(pred, target, reduction). Shapes must match exactly (torch
 * would broadcast with a warning; here that is a ShapeError).
 * @param pred (...)
 * @param target (...) same shape
 * @returns () for 'mean'/'sum', pred's shape for 'none'
 */
export function mseLoss(pred: Tensor<'f32'>, target: Tensor<'f32'>, reduction: Reduction = 'mean'): Tensor<'f32'> {
  const op = 'mseLoss';
  checkF32(op, pred, target);
  checkSameShape(op, pred, target, ['pred', 'target']);
  const P = pred.data as Float32Array;
  const T = target.data as Float32Array;
  if (reduction === 'none') {
    const out = new Float32Array(pred.size);
    for (let i = 0; i < out.length; i++) {
      const d = P[i] - T[i];
      out[i] = d * d;
    }
    return new Tensor('f32', pred.shape, out);
  }
  if (reduction !== 'mean' && reduction !== 'sum') throw new ValueError(op, `unknown reduction '${String(reduction)}'`);
  if (reduction === 'mean' && pred.size === 0) throw new ValueError(op, 'mean over an empty tensor');
  let s = 0;
  for (let i = 0; i < P.length; i++) {
    const d = P[i] - T[i];
    s += d * d;
  }
  return new Tensor('f32', [], Float32Array.of(reduction === 'mean' ? s / pred.size : s));
}
