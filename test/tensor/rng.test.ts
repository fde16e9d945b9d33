import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/tensor/rng.js';

describe('Rng', () => {
  it('is a pure function of the seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 1000; i++) expect(a.nextU32()).toBe(b.nextU32());
    expect(new Rng(43).nextU32()).not.toBe(new Rng(42).nextU32());
  });
  it('pins the stream: first values for seed 0 and 42 never change across runtimes or releases', () => {
    const r = new Rng(0);
    const got = [r.nextU32(), r.nextU32(), r.nextU32()];
    const r42 = new Rng(42);
    const n = [r42.normal(), r42.normal()];
    // Pinned from the first run of this implementation; a change here changes every seeded result.
    expect(got).toMatchInlineSnapshot(`
      [
        3809008728,
        1133695204,
        53579671,
      ]
    `);
    expect(n).toMatchInlineSnapshot(`
      [
        0.31875784963858494,
        -0.7706160167419408,
      ]
    `);
  });
  it('uniform lies in [0, 1) with mean 1/2 and normal has mean 0, variance 1', () => {
    const r = new Rng(7);
    let s = 0;
    let mn = 1;
    let mx = 0;
    const N = 200000;
    for (let i = 0; i < N; i++) {
      const u = r.uniform();
      s += u;
      mn = Math.min(mn, u);
      mx = Math.max(mx, u);
    }
    expect(mn).toBeGreaterThanOrEqual(0);
    expect(mx).toBeLessThan(1);
    expect(Math.abs(s / N - 0.5)).toBeLessThan(0.005); // 5 sigma of 1/sqrt(12 N)
    let m = 0;
    let v = 0;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      m += z;
      v += z * z;
    }
    expect(Math.abs(m / N)).toBeLessThan(0.012);
    expect(Math.abs(v / N - 1)).toBeLessThan(0.02);
  });
  it('int is unbiased in range and derive gives distinct streams', () => {
    const r = new Rng(3);
    const counts = new Array(3).fill(0);
    for (let i = 0; i < 30000; i++) counts[r.int(3)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    expect(Rng.derive(1, 2).nextU32()).not.toBe(Rng.derive(1, 3).nextU32());
    expect(Rng.derive(1, 2).nextU32()).toBe(Rng.derive(1, 2).nextU32());
    expect(() => r.int(0)).toThrow(/Rng.int/);
  });
});
