import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, ValueError } from '../../../src/tensor/errors.js';
import * as ops from '../../../src/tensor/ops/index.js';
import { Tensor, tensor } from '../../../src/tensor/tensor.js';
import { f32Of, f64Of, loadGolden, ulpDist32 } from './golden.js';
import { shapeArb, tensorArb } from './arb.js';

/** Rows of x along axis as plain arrays, in output order. */
function rows(x: Tensor<'f32'>, axis: number): number[][] {
  const ax = axis < 0 ? axis + x.ndim : axis;
  const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const n = x.shape[ax];
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  for (let o = 0; o < outer; o++) for (let r = 0; r < inner; r++) out.push(Array.from({ length: n }, (_, i) => x.f32[(o * n + i) * inner + r]));
  return out;
}

describe('reductions', () => {
  it('std/var match PyTorch (unbiased) to 0 ulp; a large-mean row is the correctly rounded float64 std (torch: 34 ulp off)', () => {
    const doc = loadGolden('std').cases;
    for (const name of ['axis0', 'axis1', 'all', 'var_axis1']) {
      const c = doc[name];
      const x = f32Of(c.x);
      const y = name.startsWith('var') ? ops.variance(x, c.axis as number) : ops.std(x, c.axis as number | undefined);
      const want = f32Of(c.y);
      expect(y.shape).toEqual(want.shape);
      // torch accumulates these in float64 too; both are the float32 rounding of ~the same double: <= 1 ulp
      for (let i = 0; i < y.size; i++) expect(ulpDist32(y.f32[i], want.f32[i])).toBeLessThanOrEqual(1);
    }
    const c = doc.large_mean; // mean 1000, std 0.01: |mean|/std = 1e5
    const y = ops.std(f32Of(c.x), 0);
    const y64 = f64Of(c.y64)[0];
    expect(y.f32[0]).toBe(Math.fround(y64));
    // torch's float32 result differs by rounding amplified by |mean|/std: within 2^-24 * 1e5 relative
    expect(Math.abs(y.f32[0] - f32Of(c.y).f32[0])).toBeLessThanOrEqual(2 ** -24 * 1e5 * y64);
  });
  it('property: sum/mean/var/std/min/max/argmax along any axis (keepdim or not) equal float64 evaluations rounded once', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 4, 4).chain((s) => fc.tuple(tensorArb(s, 50), fc.integer({ min: -s.length, max: s.length - 1 }), fc.boolean())),
        ([x, axis, keep]) => {
          const R = rows(x, axis);
          const ax = axis < 0 ? axis + x.ndim : axis;
          const kshape = x.shape.map((d, i) => (i === ax ? 1 : d));
          const dshape = x.shape.filter((_, i) => i !== ax);
          const checks: [Tensor, (r: number[]) => number][] = [
            [ops.sum(x, axis, keep), (r) => r.reduce((a, b) => a + b, 0)],
            [ops.mean(x, axis, keep), (r) => r.reduce((a, b) => a + b, 0) / r.length],
            [ops.max(x, axis, keep), (r) => Math.max(...r)],
            [ops.min(x, axis, keep), (r) => Math.min(...r)],
            [ops.argmax(x, axis, keep), (r) => r.indexOf(Math.max(...r))],
            [ops.argmin(x, axis, keep), (r) => r.indexOf(Math.min(...r))],
          ];
          if (x.shape[ax] > 1) {
            const v = (r: number[]): number => {
              const m = r.reduce((a, b) => a + b, 0) / r.length;
              return r.reduce((a, b) => a + (b - m) ** 2, 0) / (r.length - 1);
            };
            checks.push([ops.variance(x, axis, keep), v], [ops.std(x, axis, keep), (r) => Math.sqrt(v(r))]);
          }
          for (const [y, f] of checks) {
            expect(y.shape).toEqual(keep ? kshape : dshape);
            R.forEach((r, i) => expect(y.data[i]).toBe(y.dtype === 'i32' ? f(r) : Math.fround(f(r))));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
  it('axis omitted reduces everything: shape [] or all-ones with keepdim', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(ops.sum(x).shape).toEqual([]);
    expect(ops.sum(x).item()).toBe(21);
    expect(ops.mean(x, undefined, true).shape).toEqual([1, 1]);
    expect(ops.argmax(x).item()).toBe(5);
  });
  it('ties: argmax/argmin take the first index; NaN propagates through max/min and wins argmax', () => {
    expect(ops.argmax(tensor([1, 3, 3, 0, 3])).item()).toBe(1);
    expect(ops.argmin(tensor([2, 0, 5, 0])).item()).toBe(1);
    expect(ops.argmax(tensor([-Infinity, -Infinity])).item()).toBe(0);
    expect(ops.argmax(tensor([1, NaN, 5, NaN])).item()).toBe(1);
    expect(Number.isNaN(ops.max(tensor([1, NaN, 5])).item())).toBe(true);
    expect(Number.isNaN(ops.min(tensor([NaN, 1])).item())).toBe(true);
  });
  it('counts that would give NaN are ValueErrors: std/var of 1 element, mean/max of an empty axis; bad axis; dtype', () => {
    expect(() => ops.std(tensor([1, 2, 3], [3, 1]), 1)).toThrow(/std: needs at least 2 element\(s\) along axis 1, shape \[3,1\] has 1/);
    expect(() => ops.variance(tensor([4]))).toThrow(ValueError);
    expect(ops.variance(tensor([4]), undefined, false, false).item()).toBe(0);
    expect(() => ops.mean(new Tensor('f32', [2, 0]), 1)).toThrow(ValueError);
    expect(() => ops.max(new Tensor('f32', [0]))).toThrow(ValueError);
    expect(ops.sum(new Tensor('f32', [2, 0]), 1).toArray()).toEqual([0, 0]);
    expect(() => ops.sum(tensor([1, 2]), 1)).toThrow(/sum: axis 1 out of range for shape \[2\]/);
    expect(() => ops.sum(new Tensor('i32', [2]) as unknown as Tensor<'f32'>)).toThrow(DTypeError);
  });
});

describe('sumToShape (adjoint of broadcasting)', () => {
  it('property: sumToShape(broadcastTo(t, s), t.shape) = t * (numel(s) / numel(t)) for integer-valued t (exact)', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 3, 3).chain((s) => fc.tuple(fc.constant(s), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.integer({ min: 0, max: s.length }))),
        ([s, ones, drop]) => {
          const small = s.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
          const n = small.reduce((a, b) => a * b, 1);
          const t = new Tensor('f32', small, Float32Array.from({ length: n }, (_, i) => i - 2));
          const r = ops.sumToShape(ops.broadcastTo(t, s), small);
          const k = s.reduce((a, b) => a * b, 1) / n;
          expect(r.shape).toEqual(small);
          expect(r.toArray()).toEqual(t.toArray().map((v) => v * k));
        },
      ),
      { numRuns: 100 },
    );
  });
  it('returns the input itself when shapes match; rejects non-broadcast targets', () => {
    const x = tensor([1, 2, 3, 4], [2, 2]);
    expect(ops.sumToShape(x, [2, 2])).toBe(x);
    expect(() => ops.sumToShape(x, [3])).toThrow(/sumToShape/);
  });
});
