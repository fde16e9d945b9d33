import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PER_CHANNEL, PER_TENSOR, PER_TOKEN, flatAsRowGroups, flatGroups, groupIndex, groupLayout, rowGroups } from '../../src/quant/granularity.js';
import { ShapeError, ValueError } from '../../src/tensor/errors.js';

describe('granularity -> group layout', () => {
  it('per-tensor, per-channel (axis 0 and 1), per-token', () => {
    expect(groupLayout([4, 6], PER_TENSOR)).toMatchObject({ numGroups: 1, rows: 4, cols: 6 });
    const ch = groupLayout([4, 6], PER_CHANNEL);
    expect([ch.numGroups, ch.stride, Array.from(ch.start), Array.from(ch.count)]).toEqual([4, 1, [0, 6, 12, 18], [6, 6, 6, 6]]);
    const col = groupLayout([4, 6], { kind: 'per-channel', axis: 1 });
    expect([col.numGroups, col.stride, col.start[5], col.count[5]]).toEqual([6, 6, 5, 4]);
    const tok = groupLayout([2, 3, 5], PER_TOKEN); // (B, T, C) -> 6 tokens of 5
    expect([tok.rows, tok.cols, tok.numGroups]).toEqual([6, 5, 6]);
  });
  it("QuantWM's flat groups straddle rows when in % G != 0: (32, 404), G = 128", () => {
    const lay = groupLayout([32, 404], flatGroups(128));
    expect(lay.numGroups).toBe(101); // 32 * 404 / 128
    const gi = groupIndex(lay);
    // group 3 = flat [384, 512) = row 0 cols 384..403 and row 1 cols 0..107
    expect(gi[0 * 404 + 383]).toBe(2);
    expect(gi[0 * 404 + 384]).toBe(3);
    expect(gi[0 * 404 + 403]).toBe(3);
    expect(gi[1 * 404 + 107]).toBe(3);
    expect(gi[1 * 404 + 108]).toBe(4);
  });
  it('row-aligned groups restart at every row; the last group of a row is short', () => {
    const lay = groupLayout([3, 404], rowGroups(128));
    expect(lay.numGroups).toBe(12); // 3 rows * ceil(404 / 128)
    expect(Array.from(lay.count.slice(0, 4))).toEqual([128, 128, 128, 20]);
    expect(lay.start[4]).toBe(404);
    const gi = groupIndex(lay);
    expect(gi[404]).toBe(4);
    expect(gi.every((g) => g >= 0)).toBe(true);
  });
  it('every element belongs to exactly one group for every kind', () => {
    for (const g of [PER_TENSOR, PER_CHANNEL, PER_TOKEN, { kind: 'per-channel', axis: 1 } as const, flatGroups(64), rowGroups(50)]) {
      const lay = groupLayout([8, 96], g);
      const seen = new Int32Array(8 * 96);
      for (let k = 0; k < lay.numGroups; k++) for (let j = 0; j < lay.count[k]; j++) seen[lay.start[k] + j * lay.stride]++;
      expect(seen.every((c) => c === 1), JSON.stringify(g)).toBe(true);
    }
  });
  it('flat groups that do not tile the tensor are a ShapeError (torch reshape(-1, G) fails too)', () => {
    expect(() => groupLayout([6, 404], flatGroups(128))).toThrow(ShapeError);
    expect(() => groupLayout([6, 404], flatGroups(0))).toThrow(ValueError);
    expect(() => groupLayout([], PER_TENSOR)).toThrow(ShapeError);
    expect(() => groupLayout([0, 4], PER_TENSOR)).toThrow(ShapeError);
  });
});

describe('flatAsRowGroups: flat groups as row-aligned sub-groups of gcd(in, G)', () => {
  it('property: every element of sub-group (r, j) is in the flat group parent[r·(C/g) + j]; g = gcd(C, G)', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 130 }), (r, C, G) => {
        const R = r * (G / gcd(C, G)); // R·C a multiple of G
        runs++;
        const { size, parent } = flatAsRowGroups(R, C, G);
        expect(size).toBe(gcd(C, G));
        const flat = groupIndex(groupLayout([R, C], flatGroups(G)));
        const rows = groupIndex(groupLayout([R, C], rowGroups(size)));
        for (let i = 0; i < R * C; i++) if (flat[i] !== parent[rows[i]]) expect.fail(`(${R}, ${C}) G ${G}: element ${i} flat ${flat[i]} sub-group ${rows[i]} parent ${parent[rows[i]]}`);
      }),
      { numRuns: 200 },
    );
    expect(runs).toBe(200);
  });
  it('the worked case (32, 404), G 128: sub-groups of 4; row 1 begins inside flat group 3; non-tiling shapes are a ShapeError', () => {
    const { size, parent } = flatAsRowGroups(32, 404, 128);
    expect(size).toBe(4);
    expect([parent[31], parent[32], parent[96], parent[100], parent[101]]).toEqual([0, 1, 3, 3, 3]);
    expect(() => flatAsRowGroups(3, 404, 128)).toThrow(ShapeError);
  });
});

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
