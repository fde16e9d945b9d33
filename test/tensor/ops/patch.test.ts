import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../../src/tensor/errors.js';
import { im2patch, linear, patch2im } from '../../../src/tensor/ops/index.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { f32Of, loadGolden, worst } from './golden.js';
import { tensorArb } from './arb.js';

describe('im2patch / patch2im', () => {
  it('linear(im2patch(x), W.reshape(D, C p p), b) equals torch Conv2d(stride = kernel) within 2 gamma_K sum|x||w| (K = C p p)', () => {
    for (const [name, c] of Object.entries(loadGolden('im2patch').cases)) {
      const x = f32Of(c.x), w = f32Of(c.weight), b = f32Of(c.bias), want = f32Of(c.y);
      const p = c.p as number;
      const patches = im2patch(x, p);
      const W2 = w.reshape([w.shape[0], -1]);
      const y = linear(patches, W2, b);
      expect(y.shape, name).toEqual(want.shape);
      const K = W2.shape[1] + 1; // +1 for the bias add
      const D = W2.shape[0];
      const tol = (i: number): number => {
        const row = Math.floor(i / D), d = i % D;
        let s = Math.abs(b.f32[d]);
        for (let k = 0; k < K - 1; k++) s += Math.abs(patches.f32[row * (K - 1) + k] * W2.f32[d * (K - 1) + k]);
        return (2 * K * 2 ** -24 * s) / (1 - K * 2 ** -24);
      };
      const r = worst(y.f32, want.f32, tol);
      expect(r.ratio, `${name} at ${r.at}`).toBeLessThanOrEqual(1);
    }
  });
  it('property: the (c, ky, kx) channel-major layout, row-major patch order, and patch2im inverse', () => {
    fc.assert(
      fc.property(
        fc.record({ B: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), p: fc.integer({ min: 1, max: 3 }), nh: fc.integer({ min: 1, max: 3 }), nw: fc.integer({ min: 1, max: 3 }) }).chain((r) =>
          fc.tuple(fc.constant(r), tensorArb([r.B, r.C, r.nh * r.p, r.nw * r.p])),
        ),
        ([{ B, C, p, nh, nw }, x]) => {
          const y = im2patch(x, p);
          expect(y.shape).toEqual([B, nh * nw, C * p * p]);
          for (let b = 0; b < B; b++)
            for (let i = 0; i < nh; i++)
              for (let j = 0; j < nw; j++)
                for (let c = 0; c < C; c++)
                  for (let ky = 0; ky < p; ky++)
                    for (let kx = 0; kx < p; kx++) expect(y.get(b, i * nw + j, (c * p + ky) * p + kx)).toBe(x.get(b, c, i * p + ky, j * p + kx));
          expect(patch2im(y, p, nh * p, nw * p).f32).toEqual(x.f32);
        },
      ),
      { numRuns: 60 },
    );
  });
  it('rejects non-divisible sizes and wrong ranks', () => {
    expect(() => im2patch(new Tensor('f32', [1, 3, 15, 14]), 14)).toThrow(/im2patch: H, W of \[1,3,15,14\] not divisible by patch 14/);
    expect(() => im2patch(new Tensor('f32', [3, 14, 14]), 14)).toThrow(ShapeError);
    expect(() => patch2im(new Tensor('f32', [1, 4, 12]), 2, 4, 6)).toThrow(ShapeError);
  });
});
