import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { softmax } from '../../../src/tensor/ops/index.js';
import { intTensor, Tensor, tensor } from '../../../src/tensor/tensor.js';
import { f32Of, loadGolden, tensorOf, worst } from './golden.js';
import { shapeArb, tensorArb } from './arb.js';

/**
 * Bound vs PyTorch (float32: v - m rounded, expf <= 1 ulp, float32 sum, multiply by 1/sum):
 *   relative error of y_i <= 2^-24 (|v_i - m| + sum_j y_j |v_j - m| + n + 4)
 * (the rounding of v - m is amplified by |v - m| through exp; the sum's error is the y-weighted
 * average of its terms' errors plus n roundings; 4 for expf, 1/sum, the product and ours.)
 */
function softmaxTol(V: Float32Array, Y: Float32Array, n: number) {
  return (i: number): number => {
    const r0 = Math.floor(i / n) * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, V[r0 + j]);
    let avg = 0;
    for (let j = 0; j < n; j++) if (Y[r0 + j] > 0) avg += Y[r0 + j] * Math.abs(V[r0 + j] - m);
    const rel = V[i] === -Infinity ? 0 : Math.abs(V[i] - m);
    return 2 ** -24 * Y[i] * (rel + avg + n + 4) + 2 ** -149;
  };
}

describe('softmax with masks', () => {
  it('matches PyTorch on additive/boolean causal masks, one visible entry per row, ±1e30/±80/±3e38 rows, axis-1 broadcast mask', () => {
    const doc = loadGolden('softmax');
    for (const [name, c] of Object.entries(doc.cases)) {
      const x = f32Of(c.x), want = f32Of(c.y);
      const mask = c.mask ? tensorOf(c.mask) : null;
      const axis = (c.axis as number | undefined) ?? -1;
      const y = softmax(x, axis, mask);
      expect(y.shape).toEqual(want.shape);
      // torch's masked entries are exactly 0 and a lone visible entry exactly 1: so are ours
      for (let i = 0; i < y.size; i++) if (want.f32[i] === 0 || want.f32[i] === 1) expect(y.f32[i], `${name}[${i}]`).toBe(want.f32[i]);
      if (axis !== -1) continue; // tolerance helper walks rows along the last axis; exact 0/1 checked above, ulp below
      const V = new Float32Array(x.size);
      const M = mask ? new Tensor(mask.dtype, mask.shape, mask.data) : null;
      const n = x.shape.at(-1)!;
      for (let i = 0; i < x.size; i++) {
        const mi = M ? M.data[i % M.size] : 0;
        V[i] = M && M.dtype === 'u8' ? (mi ? x.f32[i] : -Infinity) : x.f32[i] + mi;
      }
      const w = worst(y.f32, want.f32, softmaxTol(V, want.f32, n));
      expect(w.ratio, `${name} at ${w.at}`).toBeLessThanOrEqual(1);
    }
  });
  it('axis-1 broadcast case within 8 float32 ulp of PyTorch (4 rows of 8: the bound above gives <= 2^-24 (n + 4 + 2*12) ~ 18 ulp)', () => {
    const c = loadGolden('softmax').cases.additive_axis1_broadcast;
    const y = softmax(f32Of(c.x), 1, tensorOf(c.mask));
    const want = f32Of(c.y);
    const w = worst(y.f32, want.f32, (i) => 8 * 2 ** -24 * Math.max(want.f32[i], 2 ** -126));
    expect(w.ratio).toBeLessThanOrEqual(1);
  });
  it('property: rows sum to 1 within n 2^-24, hidden entries are exactly 0, a single visible entry is exactly 1, no NaN', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 3, 6).chain((s) => fc.tuple(tensorArb(s, 100), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: s.reduce((a, b) => a * b, 1), maxLength: s.reduce((a, b) => a * b, 1) }))),
        ([x, codes]) => {
          // code 0: hidden, else visible; force one row to have exactly one visible entry
          const n = x.shape.at(-1)!;
          const keep = codes.map((c) => (c === 0 ? 0 : 1));
          for (let j = 0; j < n; j++) keep[j] = j === n - 1 ? 1 : 0;
          const bmask = intTensor('u8', keep, x.shape);
          const amask = tensor(keep.map((k) => (k ? 0 : -Infinity)), x.shape);
          for (const y of [softmax(x, -1, bmask), softmax(x, -1, amask)]) {
            for (let r = 0; r < x.size / n; r++) {
              let s = 0, vis = 0;
              for (let j = 0; j < n; j++) {
                const v = y.f32[r * n + j];
                expect(Number.isNaN(v)).toBe(false);
                if (!keep[r * n + j]) expect(v).toBe(0);
                else vis++;
                s += v;
              }
              if (vis > 0) expect(Math.abs(s - 1)).toBeLessThanOrEqual((n + 1) * 2 ** -24);
              else expect(s).toBe(0);
            }
            expect(y.f32[n - 1]).toBe(1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
  it('fully hidden rows are zeros (documented; torch gives NaN); extreme logits never give NaN', () => {
    const y = softmax(tensor([1, 2, 3, 4], [2, 2]), -1, intTensor('u8', [0, 0, 1, 1], [2, 2]));
    expect(y.toArray().slice(0, 2)).toEqual([0, 0]);
    expect(softmax(tensor([-Infinity, -Infinity])).toArray()).toEqual([0, 0]);
    const e = softmax(tensor([3.4e38, -3.4e38, 3.4e38, -1e30])).toArray();
    expect(e).toEqual([0.5, 0, 0.5, 0]);
    expect(softmax(tensor([-80, -80])).toArray()).toEqual([0.5, 0.5]);
  });
  it('rejects masks that do not broadcast to x, non-f32/u8 masks and bad axes', () => {
    const x = new Tensor('f32', [2, 3]);
    expect(() => softmax(x, -1, new Tensor('f32', [3, 3]))).toThrow(ShapeError);
    expect(() => softmax(x, -1, new Tensor('f32', [2, 2, 3]))).toThrow(/softmax: mask \[2,2,3\] does not broadcast to input \[2,3\]/);
    expect(() => softmax(x, -1, new Tensor('i32', [3]))).toThrow(DTypeError);
    expect(() => softmax(x, 2)).toThrow(ValueError);
  });
});
