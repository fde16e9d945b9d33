import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ag from '../../../src/tensor/autograd/index.js';
import * as ops from '../../../src/tensor/ops/index.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { tensorArb } from '../ops/arb.js';
import { gradcheck } from './gradcheck.js';

const RUNS = { numRuns: 20 };

/** Small conv geometries, shrinking toward 1x1 kernels, stride 1, no padding, one group. */
const geomArb = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    G: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 5 }),
    W: fc.integer({ min: 1, max: 5 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 2 }),
    p: fc.integer({ min: 0, max: 1 }),
    d: fc.integer({ min: 1, max: 2 }),
    bias: fc.boolean(),
  })
  // the dilated kernel must fit the padded input for conv2d
  .filter((r) => r.H + 2 * r.p >= r.d * (r.kh - 1) + 1 && r.W + 2 * r.p >= r.d * (r.kw - 1) + 1);

describe('conv2d / convTranspose2d on Vars (gradcheck.ts tolerance: both ops are linear in each input, so only float32 rounding)', () => {
  it('conv2d: gradients w.r.t. x, w, b match central differences; the forward is ops.conv2d bit for bit', () => {
    fc.assert(
      fc.property(
        geomArb.chain((r) => fc.tuple(fc.constant(r), tensorArb([r.B, r.G * r.cg, r.H, r.W], 2), tensorArb([r.G * r.og, r.cg, r.kh, r.kw], 2), tensorArb([r.G * r.og], 1))),
        ([r, x, w, b]) => {
          const opts = { stride: r.s, padding: r.p, dilation: r.d, groups: r.G };
          const f = r.bias ? (xv: ag.Var, wv: ag.Var, bv: ag.Var) => ag.conv2d(xv, wv, bv, opts) : (xv: ag.Var, wv: ag.Var) => ag.conv2d(xv, wv, null, opts);
          expect(gradcheck(f, r.bias ? [x, w, b] : [x, w])).toBeGreaterThan(0);
          const y = ag.conv2d(ag.constant(x), ag.constant(w), r.bias ? ag.constant(b) : null, opts).value;
          expect(Array.from(y.f32)).toEqual(Array.from(ops.conv2d(x, w, r.bias ? b : null, opts).f32));
        },
      ),
      RUNS,
    );
  });
  it('convTranspose2d: gradients w.r.t. x, w, b match central differences (incl. output padding)', () => {
    fc.assert(
      fc.property(
        geomArb.chain((r) =>
          fc.tuple(fc.constant(r), fc.integer({ min: 0, max: Math.max(r.s, r.d) - 1 }), tensorArb([r.B, r.G * r.cg, r.H, r.W], 2), tensorArb([r.G * r.cg, r.og, r.kh, r.kw], 2), tensorArb([r.G * r.og], 1)),
        ),
        ([r, op, x, w, b]) => {
          const opts = { stride: r.s, padding: r.p, dilation: r.d, groups: r.G, outputPadding: op };
          // the output side (H - 1) s - 2 p + d (k - 1) + op + 1 must stay >= 1
          fc.pre((r.H - 1) * r.s - 2 * r.p + r.d * (r.kh - 1) + op + 1 >= 1 && (r.W - 1) * r.s - 2 * r.p + r.d * (r.kw - 1) + op + 1 >= 1);
          const f = r.bias ? (xv: ag.Var, wv: ag.Var, bv: ag.Var) => ag.convTranspose2d(xv, wv, bv, opts) : (xv: ag.Var, wv: ag.Var) => ag.convTranspose2d(xv, wv, null, opts);
          expect(gradcheck(f, r.bias ? [x, w, b] : [x, w])).toBeGreaterThan(0);
          const y = ag.convTranspose2d(ag.constant(x), ag.constant(w), r.bias ? ag.constant(b) : null, opts).value;
          expect(Array.from(y.f32)).toEqual(Array.from(ops.convTranspose2d(x, w, r.bias ? b : null, opts).f32));
        },
      ),
      RUNS,
    );
  });
  it('the decoder geometry: convTranspose2d(k4, s2, p1) doubles the side; only inputs that require grad get one', () => {
    const x = new Tensor('f32', [1, 2, 3, 3], Float32Array.from({ length: 18 }, (_, i) => Math.sin(i)));
    const w = new Tensor('f32', [2, 1, 4, 4], Float32Array.from({ length: 32 }, (_, i) => Math.cos(i)));
    expect(gradcheck((a, b) => ag.convTranspose2d(a, b, null, { stride: 2, padding: 1 }), [x, w])).toBe(18 + 32);
    const xc = ag.constant(x);
    const wp = ag.param(w);
    const y = ag.convTranspose2d(xc, wp, null, { stride: 2, padding: 1 });
    expect(y.shape).toEqual([1, 1, 6, 6]);
    ag.backward(ag.sum(y));
    expect(xc.grad).toBeNull();
    expect(wp.grad!.shape).toEqual([2, 1, 4, 4]);
    // nothing requires grad: no node is recorded
    expect(ag.conv2d(xc, ag.constant(new Tensor('f32', [1, 2, 2, 2])), null).node).toBeNull();
  });
  it('shape errors name the op and both shapes', () => {
    const x = ag.constant(new Tensor('f32', [1, 2, 4, 4]));
    expect(() => ag.conv2d(x, ag.param(new Tensor('f32', [3, 3, 3, 3])), null)).toThrow(/conv2d.*\[1,2,4,4\].*\[3,3,3,3\]/);
    expect(() => ag.convTranspose2d(x, ag.param(new Tensor('f32', [3, 1, 4, 4])), null)).toThrow(/convTranspose2d/);
  });
});
