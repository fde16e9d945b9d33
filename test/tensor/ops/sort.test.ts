import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValueError } from '../../../src/tensor/errors.js';
import { sort, topk } from '../../../src/tensor/ops/index.js';
import { tensor } from '../../../src/tensor/tensor.js';

describe('sort (stable) and topk (ties -> lower index first)', () => {
  it('property: sort is a stable permutation; topk is the first k of the stable descending order', () => {
    fc.assert(
      fc.property(
        // few distinct values so ties are common
        fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.nat(),
        (vals, desc, kk) => {
          const x = tensor(vals.map((v) => v / 2));
          const { values, indices } = sort(x, -1, desc);
          const order = vals.map((_, i) => i).sort((i, j) => (vals[i] === vals[j] ? i - j : desc ? vals[j] - vals[i] : vals[i] - vals[j]));
          expect(indices.toArray()).toEqual(order);
          expect(values.toArray()).toEqual(order.map((i) => vals[i] / 2));
          const k = kk % (vals.length + 1);
          for (const largest of [true, false]) {
            const t = topk(x, k, -1, largest);
            const o = sort(x, -1, largest);
            expect(t.indices.toArray()).toEqual(o.indices.toArray().slice(0, k));
            expect(t.values.shape).toEqual([k]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
  it('works along inner axes', () => {
    const x = tensor([3, 1, 2, 1, 2, 9], [3, 2]); // columns [3,2,2] and [1,1,9]
    const { values, indices } = sort(x, 0);
    expect(values.toArray()).toEqual([2, 1, 2, 1, 3, 9]);
    expect(indices.toArray()).toEqual([1, 0, 2, 1, 0, 2]);
    const t = topk(x, 1, 0);
    expect(t.values.shape).toEqual([1, 2]);
    expect(t.indices.toArray()).toEqual([0, 2]);
  });
  it('explicit ties and infinities, -0 == +0 keeps order', () => {
    const t = topk(tensor([5, 7, 7, -Infinity, 7, Infinity]), 3);
    expect(t.indices.toArray()).toEqual([5, 1, 2]);
    expect(sort(tensor([0, -0, 0])).indices.toArray()).toEqual([0, 1, 2]);
  });
  it('NaN and k out of range are ValueErrors', () => {
    expect(() => sort(tensor([1, NaN]))).toThrow(/sort: NaN at position 1/);
    expect(() => topk(tensor([1, 2]), 3)).toThrow(/topk: k = 3 exceeds axis -1 of size 2 in \[2\]/);
    expect(() => topk(tensor([1, 2]), -1)).toThrow(ValueError);
  });
});
