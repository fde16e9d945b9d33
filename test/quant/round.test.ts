import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { roundHalfAwayFromZero, roundHalfEven, rounder } from '../../src/quant/round.js';

describe('roundHalfEven (torch.round, nearbyint, ONNX rint)', () => {
  it('explicit ties go to the even integer', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, -0], [-1.5, -2], [-2.5, -2], [-3.5, -4],
      [127.5, 128], [128.5, 128], [-128.5, -128], [254.5, 254], [255.5, 256],
      [4503599627370495.5, 4503599627370496], // 2^52 - 0.5: the largest double with a .5 fraction
    ];
    for (const [x, want] of cases) expect(Object.is(roundHalfEven(x), want), `roundHalfEven(${x})`).toBe(true);
  });
  it('Math.round is wrong on ties (this is why it is never used)', () => {
    expect(Math.round(2.5)).toBe(3);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(Math.round(-2.5)).toBe(-2);
    expect(roundHalfAwayFromZero(-2.5)).toBe(-3);
  });
  it('keeps the sign of zero like torch: -0.4 -> -0, -0 -> -0, 0.4 -> 0', () => {
    expect(Object.is(roundHalfEven(-0.4), -0)).toBe(true);
    expect(Object.is(roundHalfEven(-0), -0)).toBe(true);
    expect(Object.is(roundHalfEven(0.4), 0)).toBe(true);
  });
  it('non-ties, large values and non-finite values', () => {
    expect(roundHalfEven(2.4999999999999996)).toBe(2);
    expect(roundHalfEven(0.49999999999999994)).toBe(0);
    expect(roundHalfEven(2 ** 53 + 2)).toBe(2 ** 53 + 2);
    expect(roundHalfEven(Infinity)).toBe(Infinity);
    expect(roundHalfEven(-Infinity)).toBe(-Infinity);
    expect(Number.isNaN(roundHalfEven(NaN))).toBe(true);
  });
  it('property: integer, |r - x| <= 1/2, and r is even when |r - x| = 1/2 (this characterizes half-even)', () => {
    let runs = 0;
    const ties = fc.integer({ min: -1e9, max: 1e9 }).map((k) => k + 0.5);
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: -1e15, max: 1e15, noNaN: true }), ties), (x) => {
        runs++;
        const r = roundHalfEven(x);
        expect(Number.isInteger(r)).toBe(true);
        const d = Math.abs(r - x);
        expect(d).toBeLessThanOrEqual(0.5);
        if (d === 0.5) expect(r % 2 === 0).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(runs).toBeGreaterThan(0);
  });
});

describe('roundHalfAwayFromZero (C roundf)', () => {
  it('explicit ties go away from zero', () => {
    const cases: [number, number][] = [[0.5, 1], [1.5, 2], [2.5, 3], [-0.5, -1], [-2.5, -3], [0.49999999999999994, 0], [-0.4, -0]];
    for (const [x, want] of cases) expect(Object.is(roundHalfAwayFromZero(x), want), `roundHalfAwayFromZero(${x})`).toBe(true);
  });
  it('property: integer, |r - x| <= 1/2, and |r| > |x| when |r - x| = 1/2', () => {
    let runs = 0;
    const ties = fc.integer({ min: -1e9, max: 1e9 }).map((k) => k + 0.5);
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: -1e15, max: 1e15, noNaN: true }), ties), (x) => {
        runs++;
        const r = roundHalfAwayFromZero(x);
        expect(Number.isInteger(r)).toBe(true);
        const d = Math.abs(r - x);
        expect(d).toBeLessThanOrEqual(0.5);
        if (d === 0.5) expect(Math.abs(r)).toBeGreaterThan(Math.abs(x));
      }),
      { numRuns: 3000 },
    );
    expect(runs).toBeGreaterThan(0);
  });
  it('rounder() maps rule names to the functions', () => {
    expect(rounder('half-even')).toBe(roundHalfEven);
    expect(rounder('half-away')).toBe(roundHalfAwayFromZero);
  });
});
