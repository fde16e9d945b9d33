/**
 * User-defined differentiable functions, and the straight-through estimators built on them
 * (OmniQuant: round in the forward, identity in the backward).
 */
import { ShapeError, fmtShape } from '../errors.js';
import { map } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { result, type Var } from './var.js';

/**
 * A differentiable function with a hand-written gradient.
 * @param inputs the Vars it reads
 * @param forward values of the inputs -> output value
 * @param backward (upstream grad, input values, output value) -> one gradient per input
 *   (null for none), each with its input's shape
 */
export function customOp(
  name: string,
  inputs: readonly Var[],
  forward: (...values: Tensor<'f32'>[]) => Tensor<'f32'>,
  backward: (grad: Tensor<'f32'>, values: readonly Tensor<'f32'>[], out: Tensor<'f32'>) => readonly (Tensor<'f32'> | null)[],
): Var {
  const values = inputs.map((v) => v.value);
  const y = forward(...values);
  return result(name, y, inputs, () => (g) => {
    const gs = backward(g, values, y);
    if (gs.length !== inputs.length) throw new ShapeError(name, `backward returned ${gs.length} gradients for ${inputs.length} inputs`);
    gs.forEach((gi, i) => {
      if (gi && (gi.shape.length !== inputs[i].ndim || gi.shape.some((d, k) => d !== inputs[i].shape[k]))) {
        throw new ShapeError(name, `gradient ${i} has shape ${fmtShape(gi.shape)}, input is ${fmtShape(inputs[i].shape)}`);
      }
    });
    return gs;
  });
}

/**
 * Straight-through estimator: y = f(x) elementwise in the forward (a rounding rule: quant passes
 * its named roundHalfEven, the one home of rounding), dy/dx = 1 in the backward.
 */
export function ste(x: Var, f: (v: number) => number, name = 'ste'): Var {
  return customOp(name, [x], (v) => map(name, v, f), (g) => [g]);
}
