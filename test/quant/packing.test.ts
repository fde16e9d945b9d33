import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Int4Layout, bytesFor, packInt4, packWeightInt4, packedBytes, unpackInt4 } from '../../src/quant/packing.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { ValueError } from '../../src/tensor/errors.js';

describe('Int4Layout packing', () => {
  it('bytesFor = ceil(numel / 2) + 4 G + (asymmetric ? G : 0)', () => {
    expect(bytesFor(404 * 1024, 404 * 8, false)).toBe(Math.ceil((404 * 1024) / 2) + 4 * 404 * 8);
    expect(bytesFor(7, 2, true)).toBe(4 + 8 + 2);
    expect(Int4Layout.nibbleOrder).toBe('low nibble = even index');
  });
  it('the header example: codes [1, -2, 7, -8, 0, 3] -> 0xE1 0x87 0x30, 11 bytes with 2 scales', () => {
    const bytes = packInt4([1, -2, 7, -8, 0, 3], true);
    expect(Array.from(bytes)).toEqual([0xe1, 0x87, 0x30]);
    const p = packWeightInt4([2, 3], [1, -2, 7, -8, 0, 3], Float32Array.of(0.5, 0.25), new Float32Array(2), true);
    expect(packedBytes(p)).toBe(11);
    expect(packedBytes(p)).toBe(bytesFor(6, 2, false));
  });
  it('the codes buffer is a valid packed Tensor (same nibble order as dtype.ts)', () => {
    const codes = [-8, 7, 0, -1, 3];
    const t = new Tensor('i4', [5], packInt4(codes, true));
    expect(t.toArray()).toEqual(codes);
  });
  it('property: pack/unpack round-trips signed and unsigned codes, odd lengths included', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 0, maxLength: 67 }), (signed, raw) => {
        runs++;
        const codes = signed ? raw.map((v) => v - 8) : raw;
        const bytes = packInt4(codes, signed);
        expect(bytes.length).toBe(Math.ceil(codes.length / 2));
        expect(Array.from(unpackInt4(bytes, codes.length, signed))).toEqual(codes);
      }),
      { numRuns: 500 },
    );
    expect(runs).toBeGreaterThan(0);
  });
  it('codes out of range, non-integer zero points and short buffers are typed errors', () => {
    expect(() => packInt4([8], true)).toThrow(ValueError);
    expect(() => packInt4([-1], false)).toThrow(ValueError);
    expect(() => packInt4([16], false)).toThrow(/code 16 at 0/);
    expect(() => unpackInt4(new Uint8Array(1), 3, true)).toThrow(/need 2 bytes/);
    expect(() => packWeightInt4([1, 2], [1, 2], Float32Array.of(1), Float32Array.of(300), false)).toThrow(/int8/);
    expect(() => packWeightInt4([1, 2], [1, 2], Float32Array.of(1), Float32Array.of(3), true)).toThrow(ValueError);
  });
});
