import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { gather, indexSelect } from '../../../src/tensor/ops/index.js';
import { intTensor, Tensor, tensor } from '../../../src/tensor/tensor.js';
import { shapeArb, tensorArb, unravel } from './arb.js';

describe('gather / indexSelect', () => {
  it('property: gather reads x at index along axis, other coordinates unchanged', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 3, 4).chain((s) =>
          fc.tuple(
            tensorArb(s),
            fc.integer({ min: 0, max: s.length - 1 }),
            fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
            fc.integer({ min: 1, max: 5 }),
          ),
        ),
        ([x, axis, raw, m]) => {
          const ishape = x.shape.map((d, i) => (i === axis ? m : d));
          const n = ishape.reduce((a, b) => a * b, 1);
          const idx = intTensor('i32', Array.from({ length: n }, (_, i) => raw[i % 64] % x.shape[axis]), ishape);
          const y = gather(x, axis, idx);
          expect(y.shape).toEqual(ishape);
          for (let i = 0; i < n; i++) {
            const p = unravel(i, ishape);
            p[axis] = idx.data[i];
            expect(y.f32[i]).toBe(x.get(...p));
          }
          const sel = Array.from({ length: m }, (_, i) => raw[i] % x.shape[axis]);
          const z = indexSelect(x, axis, sel);
          for (let i = 0; i < z.size; i++) {
            const p = unravel(i, z.shape);
            p[axis] = sel[p[axis]];
            expect(z.f32[i]).toBe(x.get(...p));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
  it('out-of-range, negative and non-integer indices, wrong ranks and dtypes throw', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(() => indexSelect(x, 1, [0, 3])).toThrow(/indexSelect: index 3 at 1 outside \[0, 3\) for input \[2,3\]/);
    expect(() => indexSelect(x, 1, [-1])).toThrow(ValueError);
    expect(() => indexSelect(x, 0, [0.5])).toThrow(ValueError);
    expect(() => indexSelect(x, 0, intTensor('i32', [0, 1], [1, 2]))).toThrow(ShapeError);
    expect(() => gather(x, 1, intTensor('i32', [0, 1], [2]))).toThrow(ShapeError);
    expect(() => gather(x, 1, intTensor('i32', [0, 1, 0, 9], [2, 2]))).toThrow(ValueError);
    expect(() => gather(x, 1, new Tensor('f32', [2, 1]))).toThrow(DTypeError);
    expect(indexSelect(x, 0, intTensor('i32', [1, 1, 0])).toArray()).toEqual([4, 5, 6, 4, 5, 6, 1, 2, 3]);
  });
});
