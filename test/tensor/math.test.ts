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
