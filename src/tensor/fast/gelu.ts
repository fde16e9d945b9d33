/**
 * Fast GELU (exact erf form), the twin of ../ops/activation.ts `gelu`.
 *
 * gelu(x) = x·Phi(x). With a = |x| and Q(a) = Phi(-a) from the interval table of
 * gelu-table.ts, in float64:  P = x < 0 ? Q(a) : 1 - Q(a),  gelu = fround(x·P).
 * Writing Phi(x) = 1 - Q(|x|) for x >= 0 keeps the x << 0 side free of the cancellation in
 * 1 + erf (the reference uses erfc for the same reason).
 *
 * Bound vs the reference (test/tensor/fast/gelu.test.ts): |fast - ref| <= 1 ulp of float32,
 * for every float32 x. Derivation: Q_table has relative error <= 2.1e-10 (table header); P
 * inherits it (for x >= 0, |dP|/P <= |dQ|/(1 - Q) <= |dQ|/Q since Q <= 1/2 <= 1 - Q), the
 * float64 products add < 2^-52, and the reference's float64 value is within ~2^-50 of exact;
 * two reals within relative 2.2e-10 < 2^-24 of each other round to float32 values at most
 * 1 ulp apart. Measured over every 1021st float32 bit pattern: 2 of the 229,656 inputs with
 * 1e-3 < |x| < 16 give a different float32 (by 1 ulp); the other 4,108 differences (0.1% of the
 * sweep) are subnormal results (subnormal x, where 0.5·x sits on a rounding tie, or x < -13.2),
 * also 1 ulp.
 *
 * Special values as the reference: gelu(±0) = ±0, gelu(+Inf) = +Inf, gelu(-Inf) = +0,
 * gelu(x <= -16) = -0, gelu(NaN) = NaN. Deterministic: IEEE + - * only, no Math.exp.
 *
 * The WASM kernel (gelu-emit.ts) computes every element with the same float64 operations
 * as `geluScalarFast`, so the two agree bit for bit; without SIMD128 the twin runs.
 */
import { Tensor } from '../tensor.js';
import { checkF32 } from '../ops/util.js';
import { compileKernel } from '../wasm/compile.js';
import { heap } from '../wasm/heap.js';
import { hasSimd128 } from '../wasm/probe.js';
import { runTasks } from '../threads/pool.js';
import { GELU_AMAX, GELU_DEG, GELU_INTERVALS, GELU_PER_UNIT, GELU_STRIDE, geluTable } from './gelu-table.js';
import { GELU_EXPORT, GELU_SPEC, emitGelu } from './gelu-emit.js';
import { allocF32, copyIn, onHeap, splitRange, threadsFor } from './stage.js';
import { checkTwin, validating } from './validate.js';

let tab: Float64Array | null = null;

/** Q(a) = Phi(-a) for a >= 0 (or NaN) from the table, in float64; 0 for a >= GELU_AMAX. */
export function upperTailFast(a: number): number {
  const T = (tab ??= geluTable());
  const t = a * GELU_PER_UNIT;
  // as the kernel's floor(pmin(last, t)): the last interval for t >= last and for NaN
  const I = t < GELU_INTERVALS - 1 ? Math.floor(t) : GELU_INTERVALS - 1;
  const u = (t - I) * 2 - 1;
  const o = I * GELU_STRIDE;
  let p = T[o + GELU_DEG];
  for (let k = GELU_DEG - 1; k >= 0; k--) p = p * u + T[o + k];
  return a < GELU_AMAX ? p : 0;
}

/** gelu(v) rounded to float32, by the table: the scalar twin of the WASM kernel. */
export function geluScalarFast(v: number): number {
  const q = upperTailFast(Math.abs(v));
  const P = v < 0 ? q : 1 - q;
  return v === -Infinity ? 0 : Math.fround(v * P);
}

/** TypeScript twin of the kernel over a whole tensor (also the fallback without SIMD128). */
export function geluTwin(x: Tensor<'f32'>): Tensor<'f32'> {
  checkF32('gelu', x);
  const X = x.data as Float32Array;
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = geluScalarFast(X[i]);
  return new Tensor('f32', x.shape, out);
}

let tablePtr = 0;

/** The table in the heap (allocated once, kept for the process lifetime). */
function heapTable(): number {
  if (tablePtr === 0) {
    const t = (tab ??= geluTable());
    tablePtr = heap().alloc(t.byteLength);
    copyIn(t, tablePtr);
  }
  return tablePtr;
}

/**
 * GELU, as torch.nn.functional.gelu(x) (approximate='none'), within 1 ulp of ../ops gelu.
 * @param x (...) @returns (...)
 */
export function gelu(x: Tensor<'f32'>): Tensor<'f32'> {
  checkF32('gelu', x);
  const n = x.size;
  if (n === 0 || !hasSimd128()) return geluTwin(x);
  const k = compileKernel(GELU_SPEC, emitGelu);
  const tbl = heapTable();
  const out = allocF32(n);
  onHeap([x.data as Float32Array], [out], [], ([pin], [pout]) => {
    const ranges = splitRange(n, threadsFor(n * 8), 4);
    runTasks(k, GELU_EXPORT, ranges.map(([s, e]) => [pin + 4 * s, pout + 4 * s, e - s, tbl]));
  });
  if (validating()) checkTwin(k.name, out, () => geluTwin(x).data as Float32Array);
  return new Tensor('f32', x.shape, out);
}
