/**
 * Differentiable elementwise functions. Broadcast inputs get their gradient summed back to
 * their own shape (sumToShape), so a bias (D) added to (B, T, D) receives sum over B and T.
 */
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { result, type Var } from './var.js';

const unb = (g: Tensor<'f32'>, x: Var): Tensor<'f32'> => ops.sumToShape(g, x.shape);

/** Elementwise product of same-shape tensors (no broadcast), float32. */
function mulSame(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  return ops.mul(a, b);
}

/** a + b (broadcast). */
export function add(a: Var, b: Var): Var {
  return result('add', ops.add(a.value, b.value), [a, b], () => (g) => [unb(g, a), unb(g, b)]);
}

/** a - b (broadcast). */
export function sub(a: Var, b: Var): Var {
  return result('sub', ops.sub(a.value, b.value), [a, b], () => (g) => [unb(g, a), b.requiresGrad ? unb(ops.neg(g), b) : null]);
}

/** a * b (broadcast). */
export function mul(a: Var, b: Var): Var {
  return result('mul', ops.mul(a.value, b.value), [a, b], () => (g) => [
    a.requiresGrad ? unb(ops.mul(g, b.value), a) : null,
    b.requiresGrad ? unb(ops.mul(g, a.value), b) : null,
  ]);
}

/** a / b (broadcast). d/da = 1/b, d/db = -a/b^2 = -y/b. */
export function div(a: Var, b: Var): Var {
  const y = ops.div(a.value, b.value);
  return result('div', y, [a, b], () => (g) => {
    const gb = ops.div(g, b.value); // g / b, broadcast shape
    return [a.requiresGrad ? unb(gb, a) : null, b.requiresGrad ? unb(ops.neg(ops.mul(gb, y)), b) : null];
  });
}

export function neg(x: Var): Var {
  return result('neg', ops.neg(x.value), [x], () => (g) => [ops.neg(g)]);
}

/** x * s, s a constant number. */
export function scale(x: Var, s: number): Var {
  return result('scale', ops.scale(x.value, s), [x], () => (g) => [ops.scale(g, s)]);
}

/** x + s, s a constant number. */
export function addScalar(x: Var, s: number): Var {
  return result('addScalar', ops.addScalar(x.value, s), [x], () => (g) => [g]);
}

/** e^x; gradient g e^x from the saved output. */
export function exp(x: Var): Var {
  const y = ops.exp(x.value);
  return result('exp', y, [x], () => (g) => [mulSame(g, y)]);
}

/** log x; gradient g / x. */
export function log(x: Var): Var {
  return result('log', ops.log(x.value), [x], () => (g) => [ops.div(g, x.value)]);
}

/** sqrt x; gradient g / (2 sqrt x) (Infinity at 0, as torch). */
export function sqrt(x: Var): Var {
  const y = ops.sqrt(x.value);
  return result('sqrt', y, [x], () => (g) => [ops.div(g, ops.scale(y, 2))]);
}

/** |x|; gradient g sign(x), 0 at 0 (torch's choice). */
export function abs(x: Var): Var {
  return result('abs', ops.abs(x.value), [x], () => (g) => [zipMap(g, x.value, (gi, v) => (v > 0 ? gi : v < 0 ? -gi : 0))]);
}

/** clamp(x, lo, hi); gradient passes where lo <= x <= hi (torch: inclusive bounds). */
export function clamp(x: Var, lo: number, hi: number): Var {
  return result('clamp', ops.clamp(x.value, lo, hi), [x], () => (g) => [zipMap(g, x.value, (gi, v) => (v >= lo && v <= hi ? gi : 0))]);
}

/** max(x, 0); gradient passes where x > 0. */
export function relu(x: Var): Var {
  return result('relu', ops.relu(x.value), [x], () => (g) => [zipMap(g, x.value, (gi, v) => (v > 0 ? gi : 0))]);
}

/** Logistic sigmoid; gradient g y (1 - y). */
export function sigmoid(x: Var): Var {
  const y = ops.sigmoid(x.value);
  return result('sigmoid', y, [x], () => (g) => [zipMap(g, y, (gi, v) => gi * v * (1 - v))]);
}

/** mask ? a : b (u8 mask constant, all three broadcast); gradients routed by the mask. */
export function where(mask: Tensor, a: Var, b: Var): Var {
  return result('where', ops.where(mask, a.value, b.value), [a, b], () => (g) => {
    const z = new Tensor('f32', g.shape);
    return [a.requiresGrad ? unb(ops.where(mask, g, z), a) : null, b.requiresGrad ? unb(ops.where(mask, z, g), b) : null];
  });
}

/** f(g_i, x_i) over same-shape tensors, computed in float64 and rounded once. */
export function zipMap(g: Tensor<'f32'>, x: Tensor<'f32'>, f: (gi: number, xi: number) => number): Tensor<'f32'> {
  const G = g.data as Float32Array;
  const X = x.data as Float32Array;
  const out = new Float32Array(G.length);
  for (let i = 0; i < out.length; i++) out[i] = f(G[i], X[i]);
  return new Tensor('f32', g.shape, out);
}
