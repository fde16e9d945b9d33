import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { mseLoss } from '../../../src/tensor/ops/index.js';
import { tensor, type Tensor } from '../../../src/tensor/tensor.js';
import { shapeArb, tensorArb } from './arb.js';

describe('mseLoss', () => {
  it('property: mean/sum/none equal the float64 sums of squared differences rounded once', () => {
    fc.assert(
      fc.property(shapeArb(1, 3, 5).chain((s) => fc.tuple(tensorArb(s), tensorArb(s))), ([p, t]) => {
        let s = 0;
        for (let i = 0; i < p.size; i++) s += (p.f32[i] - t.f32[i]) ** 2;
        expect(mseLoss(p, t).item()).toBe(Math.fround(s / p.size));
        expect(mseLoss(p, t, 'sum').item()).toBe(Math.fround(s));
        expect(mseLoss(p, t, 'none').shape).toEqual(p.shape);
      }),
      { numRuns: 100 },
    );
  });
  it('shape mismatch and bad reduction throw', () => {
    expect(() => mseLoss(tensor([1, 2]), tensor([1]))).toThrow(/mseLoss: pred \[2\] and target \[1\] must have the same shape/);
    expect(() => mseLoss(tensor([1]), tensor([1]), 'avg' as 'mean')).toThrow(ValueError);
    expect(() => mseLoss(tensor([]) as Tensor<'f32'>, tensor([]))).toThrow(ValueError);
    expect(() => mseLoss(tensor([1, 2], [2, 1]), tensor([1, 2], [1, 2]))).toThrow(ShapeError);
  });
});
