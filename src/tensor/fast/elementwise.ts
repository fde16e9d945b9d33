/**
 * Fast broadcast add / mul and scale, twins of ../ops/elementwise.ts: plain TypeScript
 * (these ops move memory; a WASM kernel would spend more on copying in and out than on the
 * arithmetic). Monomorphic loops per op, no per-element closure or index table.
 *
 * Bound vs the reference: 0, bit-exact. Each result is fround(a op b) of the two float32
 * values computed in float64, exactly as the reference (which equals IEEE float32 arithmetic
 * for + and ·). Fast paths: equal shapes, and a suffix broadcast (bias / LayerScale /
 * positional embedding over leading dims, either operand); other broadcasts run the reference.
 */
import { sameShape, Tensor } from '../tensor.js';
import { add as addRef, mul as mulRef } from '../ops/elementwise.js';
import { broadcastShapes, checkF32, checkNumber, prod, suffixPeriod } from '../ops/util.js';
import { allocF32 } from './stage.js';

type Kind = 'add' | 'mul';

/** out[i] = A[i] + B[i]. */
function addSame(A: Float32Array, B: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = A[i] + B[i];
}

/** out[i] = A[i] · B[i]. */
function mulSame(A: Float32Array, B: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = A[i] * B[i];
}

/** out[r·P + j] = A[r·P + j] + S[j]: S (P elements) broadcast over the rows of A. */
function addRows(A: Float32Array, S: Float32Array, out: Float32Array): void {
  const P = S.length;
  for (let o = 0; o < out.length; o += P) {
    for (let j = 0; j < P; j++) out[o + j] = A[o + j] + S[j];
  }
}

/** out[r·P + j] = A[r·P + j] · S[j]. */
function mulRows(A: Float32Array, S: Float32Array, out: Float32Array): void {
  const P = S.length;
  for (let o = 0; o < out.length; o += P) {
    for (let j = 0; j < P; j++) out[o + j] = A[o + j] * S[j];
  }
}

function same(kind: Kind, A: Float32Array, B: Float32Array, out: Float32Array): void {
  if (kind === 'add') addSame(A, B, out);
  else mulSame(A, B, out);
}

function rows(kind: Kind, A: Float32Array, S: Float32Array, out: Float32Array): void {
  if (kind === 'add') addRows(A, S, out);
  else mulRows(A, S, out);
}

function binary(kind: Kind, a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  checkF32(kind, a, b);
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  if (sameShape(a.shape, b.shape)) {
    const out = allocF32(a.size);
    same(kind, A, B, out);
    return new Tensor('f32', a.shape, out);
  }
  const shape = broadcastShapes(kind, a.shape, b.shape);
  const n = prod(shape);
  if (n > 0) {
    // + and · commute exactly in IEEE arithmetic, so either operand may be the broadcast one
    if (sameShape(shape, a.shape) && suffixPeriod(b.shape, shape) > 0) {
      const out = allocF32(n);
      rows(kind, A, B, out);
      return new Tensor('f32', shape, out);
    }
    if (sameShape(shape, b.shape) && suffixPeriod(a.shape, shape) > 0) {
      const out = allocF32(n);
      rows(kind, B, A, out);
      return new Tensor('f32', shape, out);
    }
  }
  return kind === 'add' ? addRef(a, b) : mulRef(a, b);
}

/**
 * a + b with numpy broadcasting (residual adds, bias, positional embedding).
 * @param a (...) @param b (...) broadcastable to a common shape
 */
export function add(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  return binary('add', a, b);
}

/** a · b with numpy broadcasting (LayerScale). */
export function mul(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  return binary('mul', a, b);
}

/** x · s, rounded to float32 once (s a float64, as the reference). */
export function scale(x: Tensor<'f32'>, s: number): Tensor<'f32'> {
  checkNumber('scale', 's', s);
  checkF32('scale', x);
  const X = x.data as Float32Array;
  const out = allocF32(x.size);
  for (let i = 0; i < out.length; i++) out[i] = X[i] * s;
  return new Tensor('f32', x.shape, out);
}
