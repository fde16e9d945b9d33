import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../../src/tensor/errors.js';
import * as ops from '../../../src/tensor/ops/index.js';
import { tensor } from '../../../src/tensor/tensor.js';
import { shapeArb, tensorArb, unravel } from './arb.js';

const permArb = (n: number) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });

describe('layout ops', () => {
  it('property: permute moves elements to out[idx] = x[idx∘perm^-1] and invertPerm undoes it', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 4, 4).chain((s) => fc.tuple(tensorArb(s), permArb(s.length))),
        ([x, p]) => {
          const y = ops.permute(x, p);
          expect(y.shape).toEqual(p.map((a) => x.shape[a]));
          for (let i = 0; i < y.size; i++) {
            const o = unravel(i, y.shape);
            const src = new Array<number>(x.ndim);
            p.forEach((a, k) => (src[a] = o[k]));
            expect(y.f32[i]).toBe(x.get(...src));
          }
          expect(ops.permute(y, ops.invertPerm(p)).f32).toEqual(x.f32);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('property: concat then split along any axis round-trips; slice pieces equal the concat parts', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 3, 3).chain((s) =>
          fc.integer({ min: 0, max: s.length - 1 }).chain((ax) =>
            fc.tuple(fc.constant(ax), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }).chain((ns) => fc.tuple(...ns.map((n) => tensorArb(s.map((d, i) => (i === ax ? n : d))))))),
          ),
        ),
        ([ax, parts]) => {
          const y = ops.concat(parts, ax);
          const sizes = parts.map((t) => t.shape[ax]);
          const back = ops.split(y, sizes, ax);
          back.forEach((b, k) => {
            expect(b.shape).toEqual(parts[k].shape);
            expect(b.f32).toEqual(parts[k].f32);
          });
          let at = 0;
          for (const t of parts) {
            expect(ops.slice(y, ax, at, at + t.shape[ax]).f32).toEqual(t.f32);
            at += t.shape[ax];
          }
        },
      ),
      { numRuns: 100 },
    );
  });
  it('slice with step and negative bounds; out-of-range bounds throw (no silent clamping)', () => {
    const x = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 6]);
    expect(ops.slice(x, 1, 1, 6, 2).toArray()).toEqual([1, 3, 5, 7, 9, 11]);
    expect(ops.slice(x, -1, -2).toArray()).toEqual([4, 5, 10, 11]);
    expect(ops.slice(x, 0, 1, 1).shape).toEqual([0, 6]);
    expect(() => ops.slice(x, 1, 2, 7)).toThrow(/slice: range \[2, 7\) outside axis 1 of size 6 in \[2,6\]/);
    expect(() => ops.slice(x, 1, 3, 2)).toThrow(ValueError);
    expect(() => ops.slice(x, 1, 0, 2, 0)).toThrow(ValueError);
  });
  it('tile = np.tile / torch.repeat, repeatInterleave = np.repeat, broadcastTo copies', () => {
    const x = tensor([1, 2, 3, 4], [2, 2]);
    expect(ops.tile(x, [1, 2]).toArray()).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
    const t = ops.tile(x, [2, 1, 1]);
    expect(t.shape).toEqual([2, 2, 2]);
    expect(t.toArray()).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(ops.tile(x, [2, 1]).toArray()).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(ops.repeatInterleave(x, 2, 1).toArray()).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(ops.repeatInterleave(x, 2, 0).toArray()).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
    expect(ops.broadcastTo(tensor([1, 2], [2, 1]), [3, 2, 2]).toArray()).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]);
    expect(() => ops.tile(x, [2])).toThrow(ValueError);
    expect(() => ops.broadcastTo(x, [3, 2])).toThrow(ShapeError);
  });
  it('transpose, reshape helpers are views with the expected shapes; bad axes throw', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    expect(ops.transpose(x).toArray()).toEqual([1, 4, 2, 5, 3, 6]);
    expect(ops.flatten(x, 1).shape).toEqual([1, 6]);
    expect(ops.squeeze(x, 0).shape).toEqual([2, 3]);
    expect(ops.unsqueeze(x, -1).shape).toEqual([1, 2, 3, 1]);
    expect(ops.squeeze(x, 0).data).toBe(x.data);
    expect(() => ops.squeeze(x, 1)).toThrow(/squeeze: axis 1 of \[1,2,3\] has size 2, not 1/);
    expect(() => ops.permute(x, [0, 0, 1])).toThrow(/repeats axis 0/);
    expect(ops.concat([x, tensor([7, 8], [1, 2, 1])], 2).toArray()).toEqual([1, 2, 3, 7, 4, 5, 6, 8]);
    expect(() => ops.concat([x, tensor([1, 2, 3], [1, 3, 1])], 2)).toThrow(/concat: shapes \[1,2,3\], \[1,3,1\] differ off axis 2/);
    expect(() => ops.concat([], 0)).toThrow(ValueError);
  });
});
