import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fmtTime } from '../../src/cli/progress.js';

/** Seconds a formatted duration stands for. */
function parse(t: string): number {
  const m = /^(?:(\d+)h(\d\d)m|(\d+)m(\d\d)s|(\d+\.\d)s)$/.exec(t);
  if (!m) throw new Error(`bad format ${t}`);
  if (m[1] !== undefined) return Number(m[1]) * 3600 + Number(m[2]) * 60;
  if (m[3] !== undefined) return Number(m[3]) * 60 + Number(m[4]);
  return Number(m[5]);
}

describe('fmtTime', () => {
  it('rounds across unit boundaries instead of printing 60s or 60m', () => {
    expect(fmtTime(59.96)).toBe('1m00s');
    expect(fmtTime(239.7)).toBe('4m00s');
    expect(fmtTime(3599.6)).toBe('1h00m');
    expect(fmtTime(7199.9)).toBe('2h00m');
    expect(fmtTime(12.34)).toBe('12.3s');
  });
  it('every duration prints with fields below 60 and within half its last unit', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (s) => {
        const t = fmtTime(s);
        const unit = t.endsWith('m') && t.includes('h') ? 60 : t.includes('m') ? 1 : 0.1;
        expect(Math.abs(parse(t) - s)).toBeLessThanOrEqual(unit / 2 + 1e-9);
        const inner = /^\d+[hm](\d\d)[ms]$/.exec(t); // the seconds of XmYYs, the minutes of XhYYm
        if (inner) expect(Number(inner[1])).toBeLessThan(60);
      }),
    );
  });
});
