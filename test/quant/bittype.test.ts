import { describe, expect, it } from 'vitest';
import { bitType, isOff } from '../../src/quant/bittype.js';
import { ValueError } from '../../src/tensor/errors.js';

describe('bit types 2-8 signed/unsigned, 16 = off', () => {
  it('ranges follow qmin = -2^(b-1), qmax = 2^(b-1) - 1 (signed); [0, 2^b - 1] (unsigned)', () => {
    for (let b = 2; b <= 8; b++) {
      const s = bitType(b, true);
      const u = bitType(b, false);
      expect([s.qmin, s.qmax, s.name, s.off]).toEqual([-(2 ** (b - 1)), 2 ** (b - 1) - 1, `int${b}`, false]);
      expect([u.qmin, u.qmax, u.name, u.off]).toEqual([0, 2 ** b - 1, `uint${b}`, false]);
    }
    expect(bitType(4, true)).toMatchObject({ qmin: -8, qmax: 7 });
    expect(bitType(8, false)).toMatchObject({ qmin: 0, qmax: 255 });
  });
  it('16 bits is "off" (QuantWM: bits >= 16 returns the float tensor)', () => {
    expect(bitType(16, true).off).toBe(true);
    expect(bitType(16, false).name).toBe('off');
    expect(isOff(16)).toBe(true);
    expect(isOff(8)).toBe(false);
  });
  it('other widths are a ValueError naming the accepted ones', () => {
    for (const b of [0, 1, 9, 12, 32, 4.5, NaN]) expect(() => bitType(b, true)).toThrow(ValueError);
    expect(() => bitType(1, false)).toThrow(/2, 3, 4, 5, 6, 7, 8, 16/);
  });
});
