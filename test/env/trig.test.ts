import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atan, atan2, cos, mod2pi, sin, wrapAngle } from '../../src/env/trig.js';

// Budget: |ours - Math| <= 2^-51 absolute on |x| <= 1e4 (both are within ~1 ulp of the true
// value, ulp(1) = 2^-52; Cody-Waite reduction with exact n*PIO2_1, n*PIO2_2 adds < 2^-60 for
// |n| < 2^14). atan/atan2: 2 ulp relative of the result.
const ABS = 2 ** -51;
const ulp2 = (v: number): number => 2 * 2 ** (Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -1022))) - 52);

describe('deterministic trig', () => {
  it(`sin, cos within ${ABS} of Math on |x| <= 1e4, including multiples of pi/4`, () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.integer({ min: -2000, max: 2000 }).map((k) => (k * Math.PI) / 4)), (x) => {
        runs++;
        expect(Math.abs(sin(x) - Math.sin(x))).toBeLessThanOrEqual(ABS);
        expect(Math.abs(cos(x) - Math.cos(x))).toBeLessThanOrEqual(ABS);
      }),
      { numRuns: 2000 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('sin and cos of exact values: sin(0) = 0, cos(0) = 1, sin(-0) = -0; non-finite gives NaN', () => {
    expect(sin(0)).toBe(0);
    expect(Object.is(sin(-0), -0)).toBe(true);
    expect(cos(0)).toBe(1);
    expect(sin(Infinity)).toBeNaN();
    expect(cos(NaN)).toBeNaN();
  });

  it('atan2 within 2 ulp of Math.atan2, all quadrants', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), (y, x) => {
        const e = Math.atan2(y, x);
        expect(Math.abs(atan2(y, x) - e)).toBeLessThanOrEqual(ulp2(e));
      }),
      { numRuns: 2000 },
    );
    for (const x of [-3, -0.5, 0.3, 0.5, 0.7, 1, 1.5, 2.4, 10, 1e20]) expect(Math.abs(atan(x) - Math.atan(x))).toBeLessThanOrEqual(ulp2(Math.atan(x)));
  });

  it('atan2 special cases match Math.atan2 exactly (signed zeros, infinities)', () => {
    const vals = [0, -0, 1, -1, Infinity, -Infinity];
    for (const y of vals) for (const x of vals) expect(Object.is(atan2(y, x), Math.atan2(y, x)) || Math.abs(atan2(y, x) - Math.atan2(y, x)) <= ulp2(Math.atan2(y, x))).toBe(true);
    expect(atan2(NaN, 1)).toBeNaN();
  });

  it('wrapAngle lands in [-pi, pi) and differs by a multiple of 2 pi; mod2pi in [0, 2 pi)', () => {
    fc.assert(
      fc.property(fc.double({ min: -100, max: 100, noNaN: true }), (a) => {
        const w = wrapAngle(a);
        expect(w).toBeGreaterThanOrEqual(-Math.PI);
        expect(w).toBeLessThan(Math.PI);
        const k = (a - w) / (2 * Math.PI);
        expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-12);
        const m = mod2pi(a);
        expect(m).toBeGreaterThanOrEqual(0);
        expect(m).toBeLessThan(2 * Math.PI);
      }),
    );
    expect(wrapAngle(Math.PI)).toBeCloseTo(-Math.PI, 15);
    expect(mod2pi(-0.5)).toBeCloseTo(2 * Math.PI - 0.5, 15);
  });
});
