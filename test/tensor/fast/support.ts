/**
 * Shared helpers and named error budgets for the fast-op tests (test/tensor/fast).
 *
 * Budgets (each repeated in the titles of the tests that use it):
 * - GELU_VS_REF_ULP = 1: the fast GELU's float64 value is within relative 2.2e-10 of the
 *   reference's (table error, src/tensor/fast/gelu-table.ts, plus 2^-52 per float64 op),
 *   far below float32's relative half-ulp 2^-24; two reals that close round to float32
 *   values at most 1 ulp apart.
 * - GELU_TABLE_REL = 2.5e-10: |Q_table(a) - Q(a)| / Q(a) on [0, 13.3] (measured 2.07e-10 at
 *   a = 13.25, where Q(a) ~ e^(-a^2/2) bends most inside one 1/16-wide interval);
 *   GELU_TABLE_REL_CENTRAL = 1e-14 on [0, 4] (measured 3.5e-15).
 * - bit-exact (0) for layerNorm, softmax, attention and the layout/elementwise ops: they
 *   perform the reference's float operations in the reference's order (see each src file).
 */
import fc from 'fast-check';
import { Tensor } from '../../../src/tensor/tensor.js';

export const GELU_VS_REF_ULP = 1;
export const GELU_TABLE_REL = 2.5e-10;
export const GELU_TABLE_REL_CENTRAL = 1e-14;

/** Sizes around the SIMD width (4 lanes; 8 columns for softmax/attention tiles). */
export const AROUND_SIMD = [1, 3, 4, 5, 7, 8, 9, 17, 64, 65] as const;
export const aroundSimd = (): fc.Arbitrary<number> => fc.constantFrom(...AROUND_SIMD);

/** Index of the first element whose bits differ (NaN == NaN), or -1. */
export function firstDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}

/** Assertion message for the first differing element, or '' when bitwise equal. */
export function diffMessage(what: string, ref: Float32Array, got: Float32Array): string {
  const i = firstDiff(ref, got);
  if (i < 0) return '';
  return `${what}: index ${i} of ${ref.length}: reference ${ref[i]}, fast ${got[i]}`;
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** Signed-magnitude float32 bits mapped to a monotone integer line. */
function ordered(x: number): number {
  f32[0] = x;
  const b = i32[0];
  return b < 0 ? -(b & 0x7fffffff) : b;
}

/** Distance in float32 ulps (+0 and -0 are the same point; NaN vs NaN is 0, NaN vs number Infinity). */
export function ulpDistance(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  return Math.abs(ordered(a) - ordered(b));
}

/** float32 values with the edges that matter mixed into normal draws. */
export function f32Value(scale = 4): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.float({ min: Math.fround(-scale), max: Math.fround(scale), noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -0, 80, -80, 1e-30, -1e-30, 3e38, -3e38) },
    { weight: 1, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }) },
  );
}

/** A float32 tensor of the given shape with values from `value` (deterministic per seed). */
export function tensorOf(shape: readonly number[], values: readonly number[]): Tensor<'f32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = values[i % Math.max(values.length, 1)] ?? 0;
  return new Tensor('f32', shape, data);
}

/** Deterministic pseudo-random float32 data (xorshift, no Math.random): uniform in [-s, s). */
export function noise(n: number, seed: number, s = 1): Float32Array {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = ((x / 4294967296) * 2 - 1) * s;
  }
  return out;
}
