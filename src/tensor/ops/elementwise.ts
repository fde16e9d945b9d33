/**
 * Reference semantics for elementwise ops: broadcast add/sub/mul/div, where, and the unary
 * maps. float32 storage (results written to Float32Array); each result is the float32
 * rounding of the exact double result, so binary ops are exactly IEEE float32 arithmetic.
 * Never optimized: speed lives in ../wasm.
 *
 * Non-finite values follow IEEE (sqrt(-1) and log(-1) are NaN, 0/0 is NaN) as in PyTorch;
 * these ops never invent NaN from finite, in-domain input.
 */
import * as dm from '../math.js';
import { ValueError } from '../errors.js';
import { sameShape, Tensor, type Shape } from '../tensor.js';
import { broadcastOffsets, broadcastShapes, broadcastStrides, checkDType, checkF32, checkNumber, prod, suffixPeriod } from './util.js';

type Binary = (a: number, b: number) => number;

function binary(op: string, a: Tensor<'f32'>, b: Tensor<'f32'>, f: Binary): Tensor<'f32'> {
  checkF32(op, a, b);
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  if (sameShape(a.shape, b.shape)) {
    const out = new Float32Array(a.size);
    for (let i = 0; i < out.length; i++) out[i] = f(A[i], B[i]);
    return new Tensor('f32', a.shape, out);
  }
  const shape = broadcastShapes(op, a.shape, b.shape);
  const n = prod(shape);
  // common layer cases without index tables: bias / positional embedding broadcast over leading dims
  if (sameShape(shape, a.shape) && n > 0) {
    const pb = suffixPeriod(b.shape, shape);
    if (pb > 0) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f(A[i], B[i % pb]);
      return new Tensor('f32', shape, out);
    }
  }
  if (sameShape(shape, b.shape) && n > 0) {
    const pa = suffixPeriod(a.shape, shape);
    if (pa > 0) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f(A[i % pa], B[i]);
      return new Tensor('f32', shape, out);
    }
  }
  const oa = broadcastOffsets(shape, broadcastStrides(a.shape, shape));
  const ob = broadcastOffsets(shape, broadcastStrides(b.shape, shape));
  const out = new Float32Array(oa.length);
  for (let i = 0; i < out.length; i++) out[i] = f(A[oa[i]], B[ob[i]]);
  return new Tensor('f32', shape, out);
}

/** a + b with numpy broadcasting. @param a (...) @param b (...) broadcastable to a common shape */
export function add(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  return binary('add', a, b, (x, y) => x + y);
}

/** a - b with numpy broadcasting. */
export function sub(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  return binary('sub', a, b, (x, y) => x - y);
}

/** a * b with numpy broadcasting. */
export function mul(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  return binary('mul', a, b, (x, y) => x * y);
}

/** a / b with numpy broadcasting (IEEE: x/0 = ±Inf, 0/0 = NaN). */
export function div(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  return binary('div', a, b, (x, y) => x / y);
}

/** Apply a double -> double map to every element; the result is rounded to float32. */
export function map(op: string, x: Tensor<'f32'>, f: (v: number) => number): Tensor<'f32'> {
  checkF32(op, x);
  const X = x.data as Float32Array;
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = f(X[i]);
  return new Tensor('f32', x.shape, out);
}

export function neg(x: Tensor<'f32'>): Tensor<'f32'> {
  return map('neg', x, (v) => -v);
}

export function abs(x: Tensor<'f32'>): Tensor<'f32'> {
  return map('abs', x, Math.abs);
}

/** Math.sqrt is exactly rounded, so this is IEEE float32 sqrt. */
export function sqrt(x: Tensor<'f32'>): Tensor<'f32'> {
  return map('sqrt', x, Math.sqrt);
}

/** e^x with the deterministic exp of ../math.ts (same bits on every engine). */
export function exp(x: Tensor<'f32'>): Tensor<'f32'> {
  return map('exp', x, dm.exp);
}

/** Natural log with the deterministic log of ../math.ts. */
export function log(x: Tensor<'f32'>): Tensor<'f32'> {
  return map('log', x, dm.log);
}

/** x * s (s a number; the product is rounded to float32 once). */
export function scale(x: Tensor<'f32'>, s: number): Tensor<'f32'> {
  checkNumber('scale', 's', s);
  return map('scale', x, (v) => v * s);
}

/** x + s. */
export function addScalar(x: Tensor<'f32'>, s: number): Tensor<'f32'> {
  checkNumber('addScalar', 's', s);
  return map('addScalar', x, (v) => v + s);
}

/** min(max(x, lo), hi); either bound may be ±Infinity. NaN elements stay NaN (as torch.clamp). */
export function clamp(x: Tensor<'f32'>, lo: number, hi: number): Tensor<'f32'> {
  checkNumber('clamp', 'lo', lo);
  checkNumber('clamp', 'hi', hi);
  if (lo > hi) throw new ValueError('clamp', `lo ${lo} > hi ${hi}`);
  return map('clamp', x, (v) => (v < lo ? lo : v > hi ? hi : v));
}

/**
 * mask ? a : b elementwise, all three broadcast together.
 * @param mask u8 (1 = take a, 0 = take b; any nonzero counts as 1)
 */
export function where(mask: Tensor, a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  const op = 'where';
  checkDType(op, 'mask', mask, ['u8']);
  checkF32(op, a, b);
  const shape: Shape = broadcastShapes(op, mask.shape, a.shape, b.shape);
  const om = broadcastOffsets(shape, broadcastStrides(mask.shape, shape));
  const oa = broadcastOffsets(shape, broadcastStrides(a.shape, shape));
  const ob = broadcastOffsets(shape, broadcastStrides(b.shape, shape));
  const M = mask.data as Uint8Array;
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  const out = new Float32Array(om.length);
  for (let i = 0; i < out.length; i++) out[i] = M[om[i]] !== 0 ? A[oa[i]] : B[ob[i]];
  return new Tensor('f32', shape, out);
}
