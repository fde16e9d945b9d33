/**
 * Fast masked softmax (src/tensor/fast/softmax.ts): bit-exact (budget 0) with the reference
 * ops softmax, including its guarantees (hidden entries exactly 0, a lone visible entry
 * exactly 1, fully hidden rows all zeros, no NaN from finite input).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softmax } from '../../../src/tensor/fast/index.js';
import { softmax as softmaxRef } from '../../../src/tensor/ops/softmax.js';
import { DTypeError, ShapeError } from '../../../src/tensor/errors.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { setThreads, shutdownThreads } from '../../../src/tensor/threads/pool.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';
import { aroundSimd, diffMessage, f32Value, noise } from './support.js';

beforeAll(() => {
  expect(setThreads(2, nodeWorkers)).toBe(2);
  setThreads(1);
});
afterAll(() => shutdownThreads());

function check(x: Tensor<'f32'>, axis: number, mask: Tensor | null, ctx: string): Float32Array {
  const ref = softmaxRef(x, axis, mask);
  const got = softmax(x, axis, mask);
  expect(got.shape).toEqual(ref.shape);
  const msg = diffMessage(ctx, ref.data as Float32Array, got.data as Float32Array);
  if (msg) expect.fail(msg);
  return got.data as Float32Array;
}

function u8(shape: number[], bits: (i: number) => number): Tensor<'u8'> {
  const t = new Tensor('u8', shape);
  const d = t.data as Uint8Array;
  for (let i = 0; i < d.length; i++) d[i] = bits(i);
  return t;
}

describe('fast softmax', () => {
  it('bit-exact (budget 0): (B, N, n) logits with ±80 / zero / huge values, n and N around the SIMD width, random u8 (N, n) masks or none', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        aroundSimd(),
        aroundSimd(),
        fc.array(f32Value(80), { minLength: 1, maxLength: 80 }),
        fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { nil: null }),
        fc.constantFrom(0.2, 0.6, 0.95),
        (B, N, n, vals, maskSeed, density) => {
          runs++;
          const x = new Tensor('f32', [B, N, n], Float32Array.from({ length: B * N * n }, (_, i) => vals[(i * 13) % vals.length]));
          const mask = maskSeed === null ? null : u8([N, n], (i) => (noise(1, maskSeed + i)[0] * 0.5 + 0.5 < density ? 1 : 0));
          check(x, -1, mask, `B=${B} N=${N} n=${n} mask=${maskSeed === null ? 'none' : `seed ${maskSeed} density ${density}`}`);
        },
      ),
      { numRuns: 200 },
    );
    expect(runs).toBe(200);
  });

  it('a mask hiding all but one entry gives exactly 1 there and 0 elsewhere; fully hidden rows are zeros', () => {
    for (const n of [1, 5, 8, 17]) {
      const x = new Tensor('f32', [2, n, n], noise(2 * n * n, n, 50));
      // row i sees only column (i * 3) % n; the last row sees nothing
      const mask = u8([n, n], (k) => (Math.floor(k / n) < n - 1 && k % n === (Math.floor(k / n) * 3) % n ? 1 : 0));
      const y = check(x, -1, mask, `one visible, n=${n}`);
      for (let r = 0; r < 2 * n; r++) {
        const i = r % n;
        for (let j = 0; j < n; j++) {
          const want = i < n - 1 && j === (i * 3) % n ? 1 : 0;
          expect(Object.is(y[r * n + j], want), `row ${r} col ${j}`).toBe(true);
        }
      }
    }
  });

  it('-Inf logits hide like a mask; ±80 logits; a NaN or +Inf makes its row NaN in both', () => {
    const vals = [-Infinity, 80, -80, 0, -0, 1e-30, -Infinity, 3, 80, 80, -80, -80, NaN, 1, 2, 3, Infinity, 1, 2, 3, -Infinity, -Infinity, -Infinity, -Infinity];
    const y = check(new Tensor('f32', [6, 4], Float32Array.from(vals)), -1, null, 'specials');
    expect(y[0]).toBe(0);
    expect(y.slice(20, 24)).toEqual(new Float32Array(4)); // all -Inf: zeros, no NaN
    expect(Number.isNaN(y[12])).toBe(true);
  });

  it('model shapes: (300, 4, 16, 16) with a frame-causal (16, 16) mask, (2, 6, 257, 257) unmasked, a (1, 1, N, N) mask', () => {
    const causal = (N: number, P: number) => u8([N, N], (k) => (Math.floor((k % N) / P) <= Math.floor(Math.floor(k / N) / P) ? 1 : 0));
    check(new Tensor('f32', [300, 4, 16, 16], noise(300 * 4 * 256, 1, 4)), -1, causal(16, 4), '(300,4,16,16) causal');
    check(new Tensor('f32', [2, 6, 257, 257], noise(2 * 6 * 257 * 257, 2, 4)), -1, null, '(2,6,257,257)');
    const m = causal(48, 16);
    check(new Tensor('f32', [3, 2, 48, 48], noise(3 * 2 * 48 * 48, 3, 4)), -1, m.reshape([1, 1, 48, 48]), '(1,1,48,48) mask');
  });

  it('other axes, f32 additive masks and non-suffix broadcasts take the reference path (same bits)', () => {
    const x = new Tensor('f32', [3, 4, 5], noise(60, 9, 5));
    check(x, 0, null, 'axis 0');
    check(x, 1, null, 'axis 1');
    const add = new Tensor('f32', [4, 5], Float32Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? -Infinity : i * 0.1)));
    check(x, -1, add, 'f32 additive mask');
    check(x, -1, u8([4, 1], (i) => i % 2), 'u8 mask (4, 1)');
    check(x, -1, u8([3, 1, 5], (i) => (i % 4 ? 1 : 0)), 'u8 mask (3, 1, 5)');
  });

  it('rejects what the reference rejects: non-f32 input, a mask that does not broadcast, an i32 mask', () => {
    const x = new Tensor('f32', [2, 3]);
    expect(() => softmax(new Tensor('i32', [2, 3]) as unknown as Tensor<'f32'>)).toThrow(DTypeError);
    expect(() => softmax(x, -1, new Tensor('u8', [4]))).toThrow(ShapeError);
    expect(() => softmax(x, -1, new Tensor('i32', [3]))).toThrow(DTypeError);
  });

  it('2 threads give the same bits as 1 thread (300 x 4 x 48 x 48, causal mask)', () => {
    const x = new Tensor('f32', [300, 4, 48, 48], noise(300 * 4 * 48 * 48, 11, 6));
    const mask = u8([48, 48], (k) => (Math.floor((k % 48) / 16) <= Math.floor(Math.floor(k / 48) / 16) ? 1 : 0));
    setThreads(1);
    const one = softmax(x, -1, mask).data as Float32Array;
    setThreads(2);
    const two = softmax(x, -1, mask).data as Float32Array;
    setThreads(1);
    const msg = diffMessage('threads 1 vs 2', one, two);
    if (msg) expect.fail(msg);
  });
});
