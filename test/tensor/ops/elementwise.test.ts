import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError } from '../../../src/tensor/errors.js';
import * as ops from '../../../src/tensor/ops/index.js';
import { intTensor, Tensor, tensor } from '../../../src/tensor/tensor.js';
import { atBroadcast, broadcastPairArb, tensorArb, unravel } from './arb.js';

const fr = Math.fround;

describe('broadcast binary ops are exactly float32 arithmetic (0 ulp) on numpy-broadcast shapes', () => {
  const cases: [string, (a: Tensor<'f32'>, b: Tensor<'f32'>) => Tensor<'f32'>, (x: number, y: number) => number][] = [
    ['add', ops.add, (x, y) => fr(x + y)],
    ['sub', ops.sub, (x, y) => fr(x - y)],
    ['mul', ops.mul, (x, y) => fr(x * y)],
    ['div', ops.div, (x, y) => fr(x / y)],
  ];
  for (const [name, f, ref] of cases) {
    it(name, () => {
      fc.assert(
        fc.property(
          broadcastPairArb.chain(([sa, sb]) => fc.tuple(tensorArb(sa), tensorArb(sb))),
          ([a, b]) => {
            const y = f(a, b);
            const want = ops.broadcastShapes('t', a.shape, b.shape);
            expect(y.shape).toEqual(want);
            for (let i = 0; i < y.size; i++) {
              const idx = unravel(i, y.shape);
              expect(Object.is(y.f32[i], ref(atBroadcast(a, idx), atBroadcast(b, idx)))).toBe(true);
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  }
  it('does not mutate inputs and rejects incompatible shapes / non-f32', () => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor([10, 20, 30], [3]);
    const before = a.data.slice();
    expect(ops.add(a, b).toArray()).toEqual([11, 22, 33, 14, 25, 36]);
    expect(a.data).toEqual(before);
    expect(() => ops.add(a, tensor([1, 2], [2]))).toThrow(ShapeError);
    expect(() => ops.mul(a, tensor([1, 2], [2]))).toThrow(/mul: cannot broadcast shapes \[2,3\] and \[2\]/);
    expect(() => ops.add(a, intTensor('i32', [1, 2, 3]) as Tensor<'f32'>)).toThrow(DTypeError);
  });
});

describe('unary ops', () => {
  it('neg/abs/sqrt/scale/addScalar/clamp are single float32 roundings; exp/log use the deterministic math', () => {
    const x = tensor([-2, -0.5, 0, 0.25, 3, 1e30]);
    expect(ops.neg(x).toArray()).toEqual([2, 0.5, -0, -0.25, -3, fr(-1e30)]);
    expect(ops.abs(x).toArray()).toEqual([2, 0.5, 0, 0.25, 3, fr(1e30)]);
    expect(ops.sqrt(tensor([4, 2, 0])).toArray()).toEqual([2, fr(Math.SQRT2), 0]);
    expect(ops.scale(x, 0.1).toArray()).toEqual(x.toArray().map((v) => fr(v * 0.1)));
    expect(ops.addScalar(x, 0.1).toArray()).toEqual(x.toArray().map((v) => fr(v + 0.1)));
    expect(ops.clamp(x, -1, 1).toArray()).toEqual([-1, -0.5, 0, 0.25, 1, 1]);
    expect(ops.exp(tensor([0, 1, -Infinity])).toArray()).toEqual([1, fr(Math.E), 0]);
    expect(ops.log(tensor([1, 0])).toArray()).toEqual([0, -Infinity]);
    expect(() => ops.scale(x, NaN)).toThrow(ValueError);
    expect(() => ops.clamp(x, 2, 1)).toThrow(/clamp: lo 2 > hi 1/);
  });
  it('where broadcasts mask, a and b; mask must be u8', () => {
    const mask = intTensor('u8', [1, 0, 1], [1, 3]);
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor([-1], [1]);
    expect(ops.where(mask, a, b).toArray()).toEqual([1, -1, 3, 4, -1, 6]);
    expect(() => ops.where(a, a, b)).toThrow(DTypeError);
  });
});
