/**
 * Fast GELU (src/tensor/fast/gelu.ts) against the reference ops gelu (exact erf form):
 * within GELU_VS_REF_ULP = 1 float32 ulp everywhere, bit-identical to its TypeScript twin,
 * the same special values, and identical for 1 and 2 threads.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gelu, geluScalarFast, geluTwin, upperTailFast } from '../../../src/tensor/fast/index.js';
import { gelu as geluRef, geluScalar } from '../../../src/tensor/ops/activation.js';
import { erfc } from '../../../src/tensor/math.js';
import { DTypeError } from '../../../src/tensor/errors.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { setThreads, shutdownThreads } from '../../../src/tensor/threads/pool.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';
import { GELU_TABLE_REL, GELU_TABLE_REL_CENTRAL, GELU_VS_REF_ULP, aroundSimd, diffMessage, f32Value, noise, ulpDistance } from './support.js';

beforeAll(() => {
  expect(setThreads(2, nodeWorkers)).toBe(2);
  setThreads(1);
});
afterAll(() => shutdownThreads());

/** Every `stride`-th float32 bit pattern (stride odd, so all exponents and both signs appear). */
function sweep(stride: number): Float32Array {
  const n = Math.floor(2 ** 32 / stride);
  const u = new Uint32Array(n);
  for (let i = 0; i < n; i++) u[i] = i * stride;
  return new Float32Array(u.buffer);
}

describe('fast gelu', () => {
  it(`table: |Q_table - Q| / Q <= ${GELU_TABLE_REL} on [0, 13.3], <= ${GELU_TABLE_REL_CENTRAL} on [0, 4]`, () => {
    let runs = 0;
    let worst = 0;
    let worstCentral = 0;
    for (let a = 0; a < 13.3; a += 1 / 1024 + 1e-7) {
      const q = 0.5 * erfc(a * Math.SQRT1_2);
      const e = Math.abs(upperTailFast(a) - q) / q;
      worst = Math.max(worst, e);
      if (a <= 4) worstCentral = Math.max(worstCentral, e);
      runs++;
    }
    expect(runs).toBeGreaterThan(13000);
    expect(worst).toBeLessThanOrEqual(GELU_TABLE_REL);
    expect(worstCentral).toBeLessThanOrEqual(GELU_TABLE_REL_CENTRAL);
  });

  it(`within ${GELU_VS_REF_ULP} ulp of the reference on every 1021st float32 bit pattern (4.2M values: subnormals, huge, ±Inf, NaN), kernel == twin bitwise`, () => {
    const X = sweep(1021);
    const x = new Tensor('f32', [X.length], X);
    const fast = gelu(x).data as Float32Array;
    let worst = 0;
    let differ = 0;
    for (let i = 0; i < X.length; i++) {
      const ref = Math.fround(geluScalar(X[i]));
      const d = ulpDistance(ref, fast[i]);
      if (d > GELU_VS_REF_ULP) expect.fail(`x = ${X[i]}: reference ${ref}, fast ${fast[i]} (${d} ulp)`);
      if (d > 0) differ++;
      worst = Math.max(worst, d);
      const twin = geluScalarFast(X[i]);
      if (!Object.is(twin, fast[i]) && !(Number.isNaN(twin) && Number.isNaN(fast[i]))) expect.fail(`x = ${X[i]}: twin ${twin}, kernel ${fast[i]}`);
    }
    // a vacuous pass is impossible (the sweep has 4.2M values); most results are identical
    expect(X.length).toBeGreaterThan(4e6);
    expect(differ / X.length).toBeLessThan(1e-3);
  });

  it(`arrays of length around the SIMD width: kernel == twin bitwise, within ${GELU_VS_REF_ULP} ulp of the reference`, () => {
    let runs = 0;
    fc.assert(
      fc.property(aroundSimd(), fc.array(f32Value(20), { minLength: 1, maxLength: 65 }), (n, vals) => {
        runs++;
        const data = Float32Array.from({ length: n }, (_, i) => vals[i % vals.length]);
        const x = new Tensor('f32', [n], data);
        const fast = gelu(x).data as Float32Array;
        const twin = geluTwin(x).data as Float32Array;
        const ref = geluRef(x).data as Float32Array;
        const msg = diffMessage(`n=${n} kernel vs twin`, twin, fast);
        if (msg) expect.fail(msg);
        for (let i = 0; i < n; i++) expect(ulpDistance(ref[i], fast[i]), `x=${data[i]}`).toBeLessThanOrEqual(GELU_VS_REF_ULP);
      }),
      { numRuns: 200 },
    );
    expect(runs).toBe(200);
  });

  it('special values as the reference: ±0 -> ±0, -Inf -> +0, +Inf -> +Inf, NaN -> NaN, x <= -16 -> -0, x >= 16 -> x', () => {
    const vals = [0, -0, -Infinity, Infinity, NaN, -16, -15.5, -40, -3e38, 16, 17.5, 3e38, 1e-45, -1e-45];
    const x = new Tensor('f32', [vals.length], Float32Array.from(vals));
    const fast = gelu(x).data as Float32Array;
    const ref = geluRef(x).data as Float32Array;
    const msg = diffMessage('specials', ref, fast);
    if (msg) expect.fail(msg);
    expect(Object.is(fast[0], 0)).toBe(true);
    expect(Object.is(fast[1], -0)).toBe(true);
    expect(Object.is(fast[2], 0)).toBe(true);
    expect(fast[3]).toBe(Infinity);
    expect(fast[4]).toBeNaN();
    expect(Object.is(fast[5], -0)).toBe(true);
    expect(fast[9]).toBe(16);
  });

  it('keeps the shape (incl. empty and rank 0), refuses non-f32 with DTypeError', () => {
    expect(gelu(new Tensor('f32', [2, 0, 3])).shape).toEqual([2, 0, 3]);
    const s = gelu(new Tensor('f32', [], Float32Array.of(1)));
    expect(s.shape).toEqual([]);
    expect(s.data[0]).toBe(Math.fround(geluScalar(1)));
    expect(() => gelu(new Tensor('i32', [2]) as unknown as Tensor<'f32'>)).toThrow(DTypeError);
  });

  it('2 threads give the same bits as 1 thread (300k elements, uneven split)', () => {
    const x = new Tensor('f32', [300_001], noise(300_001, 7, 6));
    setThreads(1);
    const one = gelu(x).data as Float32Array;
    setThreads(2);
    const two = gelu(x).data as Float32Array;
    setThreads(1);
    const msg = diffMessage('threads 1 vs 2', one, two);
    if (msg) expect.fail(msg);
  });
});
