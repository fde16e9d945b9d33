import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exp, log, pow, tanh } from '../../src/tensor/math.js';

/** Relative error in ulps of the double result: our functions promise <= 2 ulp vs Math.* (itself ~1 ulp). */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / (Math.abs(b) * 2 ** -52);
}

describe('deterministic elementary functions (<= 4 ulp from the engine)', () => {
  it('exp over its whole finite range', () => {
    fc.assert(
      fc.property(fc.double({ min: -740, max: 709, noNaN: true }), (x) => {
        expect(ulps(exp(x), Math.exp(x))).toBeLessThanOrEqual(4);
      }),
      { numRuns: 2000 },
    );
  });
  it('exp edge cases', () => {
    expect(exp(0)).toBe(1);
    expect(exp(-Infinity)).toBe(0);
    expect(exp(Infinity)).toBe(Infinity);
    expect(exp(710)).toBe(Infinity);
    expect(exp(-746)).toBe(0);
    expect(Number.isNaN(exp(NaN))).toBe(true);
    expect(exp(-744) / Math.exp(-744)).toBeCloseTo(1, 5); // subnormal result
  });
  it('log over positive doubles, subnormals included', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-310, max: 1e300, noNaN: true }), (x) => {
        const want = Math.log(x);
        if (Math.abs(want) < 1e-3) expect(Math.abs(log(x) - want)).toBeLessThan(1e-18);
        else expect(ulps(log(x), want)).toBeLessThanOrEqual(4);
      }),
      { numRuns: 2000 },
    );
  });
  it('log edge cases', () => {
    expect(log(1)).toBe(0);
    expect(log(0)).toBe(-Infinity);
    expect(Number.isNaN(log(-1))).toBe(true);
    expect(log(Infinity)).toBe(Infinity);
  });
  it('tanh and pow', () => {
    fc.assert(
      fc.property(fc.double({ min: -30, max: 30, noNaN: true }), (x) => {
        expect(Math.abs(tanh(x) - Math.tanh(x))).toBeLessThanOrEqual(4 * 2 ** -52 * Math.max(Math.abs(Math.tanh(x)), 1e-300) + 1e-300);
      }),
      { numRuns: 1000 },
    );
    expect(pow(2, 10)).toBe(1024);
    expect(pow(3, -2)).toBe(1 / 9);
    expect(ulps(pow(2.5, 0.3), Math.pow(2.5, 0.3))).toBeLessThanOrEqual(8);
  });
});

import { erf, erfc } from '../../src/tensor/math.js';
import { f64Of, loadGolden } from './ops/golden.js';

describe('erf / erfc (fdlibm s_erf.c structure) vs a 200-bit mpmath table', () => {
  const t = loadGolden('erf').cases.table;
  const xs = f64Of(t.x);
  const wantErf = f64Of(t.erf);
  const wantErfc = f64Of(t.erfc);
  /** ulps of the double reference (2^-1074 floor for subnormals). */
  const ulp64 = (v: number): number => (Math.abs(v) < 2 ** -1022 ? 2 ** -1074 : 2 ** (Math.floor(Math.log2(Math.abs(v))) - 52));
  // fdlibm promises < 1 ulp; our exp adds <= 2 ulp to the two exp factors of the tail: 4 ulp budget.
  it('erf within 4 ulp of the correctly rounded value at every table point (all 5 intervals, tiny and subnormal x)', () => {
    expect(xs.length).toBeGreaterThan(500);
    for (let i = 0; i < xs.length; i++) {
      const d = Math.abs(erf(xs[i]) - wantErf[i]) / ulp64(wantErf[i]);
      if (d > 4) throw new Error(`erf(${xs[i]}) = ${erf(xs[i])}, want ${wantErf[i]} (${d} ulp)`);
    }
  });
  it('erfc within 4 ulp where the result is a normal double (tail down to erfc(27.2) ~ 1e-323 is checked at 1e-3 relative)', () => {
    for (let i = 0; i < xs.length; i++) {
      const w = wantErfc[i];
      const got = erfc(xs[i]);
      if (Math.abs(w) >= 2 ** -1022) {
        const d = Math.abs(got - w) / ulp64(w);
        if (d > 4) throw new Error(`erfc(${xs[i]}) = ${got}, want ${w} (${d} ulp)`);
      } else expect(Math.abs(got - w)).toBeLessThanOrEqual(Math.max(1e-3 * w, 2 ** -1074 * 4));
    }
  });
  it('properties: odd, erf + erfc = 1, bounded, monotone, exact limits', () => {
    fc.assert(
      fc.property(fc.double({ min: -30, max: 30, noNaN: true }), fc.double({ min: -30, max: 30, noNaN: true }), (x, y) => {
        expect(erf(-x)).toBe(-erf(x));
        expect(Math.abs(erf(x))).toBeLessThanOrEqual(1);
        expect(Math.abs(erf(x) + erfc(x) - 1)).toBeLessThanOrEqual(2 ** -52 * 2);
        if (x < y) expect(erf(x)).toBeLessThanOrEqual(erf(y));
      }),
      { numRuns: 1000 },
    );
    expect(erf(0)).toBe(0);
    expect(Object.is(erf(-0), -0)).toBe(true);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(Number.isNaN(erf(NaN)) && Number.isNaN(erfc(NaN))).toBe(true);
  });
});
