/**
 * Fast LayerNorm (src/tensor/fast/layer-norm.ts): bit-exact (budget 0) with the reference
 * ops layerNorm, which it reproduces operation for operation in float64.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerNorm } from '../../../src/tensor/fast/index.js';
import { layerNorm as layerNormRef } from '../../../src/tensor/ops/norm.js';
import { DTypeError, ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { setThreads, shutdownThreads } from '../../../src/tensor/threads/pool.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';
import { aroundSimd, diffMessage, f32Value, noise } from './support.js';

beforeAll(() => {
  expect(setThreads(2, nodeWorkers)).toBe(2);
  setThreads(1);
});
afterAll(() => shutdownThreads());

function check(x: Tensor<'f32'>, g: Tensor<'f32'> | null, b: Tensor<'f32'> | null, eps: number, ctx: string): void {
  const ref = layerNormRef(x, g, b, eps);
  const got = layerNorm(x, g, b, eps);
  expect(got.shape).toEqual(ref.shape);
  const msg = diffMessage(ctx, ref.data as Float32Array, got.data as Float32Array);
  if (msg) expect.fail(msg);
}

describe('fast layerNorm', () => {
  it('bit-exact (budget 0) for rows and D around the SIMD width, with/without gamma and beta, offset rows, eps 1e-5/1e-6/0', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        aroundSimd(),
        aroundSimd(),
        fc.array(f32Value(8), { minLength: 1, maxLength: 70 }),
        fc.constantFrom(0, 1e3, -7.5),
        fc.constantFrom(1e-5, 1e-6, 0),
        fc.boolean(),
        fc.boolean(),
        (rows, D, vals, offset, eps, hasG, hasB) => {
          runs++;
          const x = new Tensor('f32', [rows, D], Float32Array.from({ length: rows * D }, (_, i) => vals[(i * 7) % vals.length] + offset));
          const g = hasG ? new Tensor('f32', [D], noise(D, rows + D, 2)) : null;
          const b = hasB ? new Tensor('f32', [D], noise(D, rows * D, 1)) : null;
          check(x, g, b, eps, `rows=${rows} D=${D} offset=${offset} eps=${eps} gamma=${hasG} beta=${hasB}`);
        },
      ),
      { numRuns: 150 },
    );
    expect(runs).toBe(150);
  });

  it('bit-exact on the model shapes (4800 x 84, 257 x 384) and for -0 outputs without beta', () => {
    for (const [R, D] of [[4800, 84], [257, 384]]) {
      const x = new Tensor('f32', [R, D], noise(R * D, D, 3));
      check(x, new Tensor('f32', [D], noise(D, 1, 1)), new Tensor('f32', [D], noise(D, 2, 1)), 1e-6, `${R}x${D}`);
    }
    // a constant row normalises to exact zeros; with gamma = -1 and no beta they are -0
    const x = new Tensor('f32', [3, 5], new Float32Array(15).fill(2.5));
    check(x, new Tensor('f32', [5], new Float32Array(5).fill(-1)), null, 1e-5, 'constant rows');
    expect(Object.is(layerNorm(x, new Tensor('f32', [5], new Float32Array(5).fill(-1)), null).data[0], -0)).toBe(true);
  });

  it('non-finite inputs give the reference bits (NaN rows for ±Inf, eps = 0 on a constant row)', () => {
    const x = new Tensor('f32', [3, 6], Float32Array.of(1, 2, Infinity, 4, 5, 6, 1, 1, 1, 1, 1, 1, -Infinity, 0, 0, 0, 0, 0));
    check(x, null, null, 0, 'non-finite');
  });

  it('rejects what the reference rejects: non-f32 (DTypeError), gamma of the wrong size (ShapeError), eps < 0 (ValueError)', () => {
    const x = new Tensor('f32', [2, 4]);
    expect(() => layerNorm(new Tensor('i32', [2, 4]) as unknown as Tensor<'f32'>, null, null)).toThrow(DTypeError);
    expect(() => layerNorm(x, new Tensor('f32', [3]), null)).toThrow(ShapeError);
    expect(() => layerNorm(x, null, null, -1)).toThrow(ValueError);
    expect(() => layerNorm(new Tensor('f32', [2, 0]), null, null)).toThrow(ShapeError);
    expect(layerNorm(new Tensor('f32', [0, 4]), null, null).shape).toEqual([0, 4]);
  });

  it('2 threads give the same bits as 1 thread (4801 x 84)', () => {
    const x = new Tensor('f32', [4801, 84], noise(4801 * 84, 3, 2));
    const g = new Tensor('f32', [84], noise(84, 4, 1));
    setThreads(1);
    const one = layerNorm(x, g, null, 1e-5).data as Float32Array;
    setThreads(2);
    const two = layerNorm(x, g, null, 1e-5).data as Float32Array;
    setThreads(1);
    const msg = diffMessage('threads 1 vs 2', one, two);
    if (msg) expect.fail(msg);
  });
});
