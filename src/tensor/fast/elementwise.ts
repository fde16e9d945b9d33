/**
 * Fast broadcast add / mul and scale, twins of ../ops/elementwise.ts. Equal shapes and a
 * suffix broadcast (bias / LayerScale / positional embedding over leading dims, either
 * operand) run the SIMD kernel of elementwise-emit.ts when the data already lives in the
 * kernel heap (arena activations: no copies in or out; split across the thread pool), else
 * the monomorphic TypeScript loops below, which are also the kernel's twin. An operand
 * broadcast over one middle block (the action / proprio embedding tiled over patches,
 * (S, T, 1, E) + (1, 1, P, E)) has its own loop; other broadcasts run the reference.
 *
 * Bound vs the reference: 0, bit-exact. Each result is fround(a op b) of the two float32
 * values computed in float64, exactly as the reference (which equals IEEE float32 arithmetic
 * for + and ·, what the kernel computes).
 */
import { ShapeError } from '../errors.js';
import { sameShape, Tensor } from '../tensor.js';
import { add as addRef, mul as mulRef } from '../ops/elementwise.js';
import { broadcastShapes, checkF32, checkNumber, prod, suffixPeriod } from '../ops/util.js';
import { compileKernel } from '../wasm/compile.js';
import { hasSimd128 } from '../wasm/probe.js';
import { runTasks } from '../threads/pool.js';
import { BINARY_SPEC, binaryExport, emitBinary, type BinaryKind } from './elementwise-emit.js';
import { allocF32, heapPtr, onHeap, splitRange, threadsFor } from './stage.js';
import { checkTwin, validating } from './validate.js';

type Kind = BinaryKind;

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

/**
 * The TypeScript twin of the kernel: out = A op B (B.length = out.length), or A op S broadcast
 * over rows (S.length = P divides out.length).
 */
export function binaryTwin(kind: BinaryKind, A: Float32Array, B: Float32Array, out: Float32Array): void {
  if (B.length === out.length) {
    if (kind === 'add') addSame(A, B, out);
    else mulSame(A, B, out);
  } else if (kind === 'add') addRows(A, B, out);
  else mulRows(A, B, out);
}

/**
 * The SIMD kernel on the same operands as `binaryTwin` (inputs outside the heap are copied in,
 * an output outside it is copied out: callers avoid both), split into row ranges across the
 * thread pool; results are identical for any thread count (each element is one operation).
 */
export function binaryKernel(kind: BinaryKind, A: Float32Array, B: Float32Array, out: Float32Array): void {
  const n = out.length;
  const P = B.length;
  if (A.length !== n || P === 0 || n % P !== 0) throw new ShapeError(`binaryKernel ${kind}`, `A has ${A.length} elements, B ${P}, out ${n}: need A = out and B = out or a divisor of it`);
  const k = compileKernel(BINARY_SPEC, emitBinary);
  const rowsOf = P === n ? 0 : P;
  onHeap([A, B], [out], [], ([pa, pb], [po]) => {
    if (rowsOf === 0) {
      const ranges = splitRange(n, threadsFor(n), 4);
      runTasks(k, binaryExport(kind, 'same'), ranges.map(([s, e]) => [pa + 4 * s, pb + 4 * s, po + 4 * s, e - s]));
    } else {
      const ranges = splitRange(n / P, threadsFor(n), 1);
      runTasks(k, binaryExport(kind, 'rows'), ranges.map(([s, e]) => [pa + 4 * s * P, pb, po + 4 * s * P, e - s, P]));
    }
  });
  if (validating()) {
    checkTwin(k.name, out, () => {
      const t = new Float32Array(n);
      binaryTwin(kind, A, B, t);
      return t;
    });
  }
}

/** Below this many elements the loop beats a kernel call. */
const KERNEL_MIN = 256;

/** out = A op B (rows broadcast when B is shorter): the kernel when A, out (and a full B) live in the heap. */
function run(kind: Kind, A: Float32Array, B: Float32Array, out: Float32Array): void {
  // a short broadcast row (< 4) would run the kernel's scalar tail only
  const inHeap = heapPtr(out) >= 0 && heapPtr(A) >= 0 && (B.length < out.length ? B.length >= 4 : heapPtr(B) >= 0);
  if (inHeap && out.length >= KERNEL_MIN && hasSimd128()) binaryKernel(kind, A, B, out);
  else binaryTwin(kind, A, B, out);
}

/**
 * out[(o·M + m)·E + i] = X[o·E + i] op Y[m·E + i]: X (O, 1, E) broadcast over the M rows of a
 * block Y (M, E) (1, M, E), either way round (op commutes exactly).
 */
function blockBroadcast(kind: Kind, X: Float32Array, Y: Float32Array, E: number, out: Float32Array): void {
  const ME = Y.length;
  for (let o = 0, w = 0; w < out.length; o += E) {
    for (let y = 0; y < ME; y += E, w += E) {
      if (kind === 'add') for (let i = 0; i < E; i++) out[w + i] = X[o + i] + Y[y + i];
      else for (let i = 0; i < E; i++) out[w + i] = X[o + i] * Y[y + i];
    }
  }
}

/**
 * If x (broadcast to `shape`) is (O, 1, E) and y is (1, M, E) for some split of `shape` into
 * [outer O | M | inner E] (size-1 dims of either ignored), the inner width E, else 0.
 */
function blockSplit(xs: readonly number[], ys: readonly number[], shape: readonly number[]): number {
  const r = shape.length;
  const at = (s: readonly number[], i: number) => (i - (r - s.length) >= 0 ? s[i - (r - s.length)] : 1);
  // inner: both full; middle: x 1, y full; outer: x full, y 1
  let i = r - 1;
  let E = 1;
  while (i >= 0 && at(xs, i) === shape[i] && at(ys, i) === shape[i]) E *= shape[i--];
  let M = 1;
  while (i >= 0 && at(xs, i) === 1 && at(ys, i) === shape[i]) M *= shape[i--];
  let O = 1;
  while (i >= 0 && at(xs, i) === shape[i] && at(ys, i) === 1) O *= shape[i--];
  return i < 0 && M > 1 && O > 1 && E > 0 ? E : 0;
}

function binary(kind: Kind, a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  checkF32(kind, a, b);
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  if (sameShape(a.shape, b.shape)) {
    const out = allocF32(a.size);
    run(kind, A, B, out);
    return new Tensor('f32', a.shape, out);
  }
  const shape = broadcastShapes(kind, a.shape, b.shape);
  const n = prod(shape);
  if (n > 0) {
    // + and · commute exactly in IEEE arithmetic, so either operand may be the broadcast one
    if (sameShape(shape, a.shape) && suffixPeriod(b.shape, shape) > 0) {
      const out = allocF32(n);
      run(kind, A, B, out);
      return new Tensor('f32', shape, out);
    }
    if (sameShape(shape, b.shape) && suffixPeriod(a.shape, shape) > 0) {
      const out = allocF32(n);
      run(kind, B, A, out);
      return new Tensor('f32', shape, out);
    }
    const ea = blockSplit(a.shape, b.shape, shape);
    const eb = ea > 0 ? 0 : blockSplit(b.shape, a.shape, shape);
    if (ea > 0 || eb > 0) {
      const out = allocF32(n);
      if (ea > 0) blockBroadcast(kind, A, B, ea, out);
      else blockBroadcast(kind, B, A, eb, out);
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
