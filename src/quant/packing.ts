/**
 * The packed 4-bit weight layout (weights of 2, 3 or 4 bits; 5-8 bit codes are plain int8 bytes).
 * This header is the one place the bytes are drawn; everything else links here.
 *
 * A quantized (out, in) weight with G groups (any GroupLayout: per-channel, QuantWM's flat
 * groups, row-aligned groups) is three arrays:
 *
 *   codes   ceil(out*in / 2) bytes   row-major over the flat index f = r*in + c, two codes per byte:
 *
 *           byte k:   bit 7 .. 4      bit 3 .. 0
 *                   [ code[2k+1]  |  code[2k]  ]        low nibble = even flat index
 *
 *           symmetric (z = 0): 'i4' two's complement, code in [-8, 7] (0xF = -1)
 *           asymmetric:        'u4', code in [0, 15]
 *           An odd element count leaves the high nibble of the last byte 0. Rows are not padded,
 *           so with an odd `in` a row may start in the middle of a byte.
 *   scales  G float32, little-endian, group order of the GroupLayout
 *   zeros   asymmetric only: G int8 zero points (a code's value is (code - z) * s); symmetric: none
 *
 *   bytesFor = ceil(numel / 2) + 4 G + (asymmetric ? G : 0)
 *
 * Example: int4 per-channel (out, in) = (2, 3), codes [[1, -2, 7], [-8, 0, 3]]:
 *   flat codes 1, -2, 7, -8, 0, 3 -> bytes 0xE1, 0x87, 0x30; then 2 scales = 8 bytes; 11 bytes total.
 *
 * The nibble order is the one of src/tensor/dtype.ts (getNibble/setNibble), so a codes buffer
 * is a valid Tensor<'i4' | 'u4'>.
 */
import { ShapeError, ValueError } from '../tensor/errors.js';
import { getNibble, setNibble } from '../tensor/dtype.js';

/** The declared 4-bit layout; `bytesFor` is its size formula. */
export const Int4Layout = Object.freeze({
  /** element order of the codes */
  order: 'row-major (out, in), flat index r*in + c' as const,
  /** which nibble holds the even flat index */
  nibbleOrder: 'low nibble = even index' as const,
  /** code dtype for symmetric / asymmetric quantizers */
  symmetricCode: 'i4' as const,
  asymmetricCode: 'u4' as const,
  /** one float32 scale per group, little-endian */
  scaleDType: 'f32' as const,
  scaleBytes: 4,
  /** one int8 zero point per group (asymmetric only) */
  zeroPointDType: 'i8' as const,
  zeroPointBytes: 1,
  /** widest code that fits a nibble */
  maxBits: 4,
});

/**
 * Bytes of a packed 4-bit weight: ceil(numel / 2) + 4 numGroups + (asymmetric ? numGroups : 0).
 * @param numel out * in
 * @param numGroups number of (scale, zero point) groups
 */
export function bytesFor(numel: number, numGroups: number, asymmetric: boolean): number {
  if (!Number.isInteger(numel) || numel < 0 || !Number.isInteger(numGroups) || numGroups < 0) {
    throw new ValueError('bytesFor', `numel and numGroups must be non-negative integers, got ${numel}, ${numGroups}`);
  }
  return Math.ceil(numel / 2) + Int4Layout.scaleBytes * numGroups + (asymmetric ? Int4Layout.zeroPointBytes * numGroups : 0);
}

/**
 * Pack 4-bit codes two per byte (low nibble = even index).
 * @param codes integer codes, in [-8, 7] when signed, [0, 15] when unsigned
 * @throws ValueError naming the first code out of range
 */
export function packInt4(codes: ArrayLike<number>, signed: boolean): Uint8Array {
  const lo = signed ? -8 : 0;
  const hi = signed ? 7 : 15;
  const out = new Uint8Array(Math.ceil(codes.length / 2));
  for (let i = 0; i < codes.length; i++) {
    const v = codes[i];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new ValueError('packInt4', `code ${v} at ${i} is not a ${signed ? 'signed' : 'unsigned'} 4-bit value in [${lo}, ${hi}]`);
    }
    setNibble(out, i, v);
  }
  return out;
}

/**
 * Unpack n 4-bit codes (sign-extended when signed).
 * @param bytes at least ceil(n / 2) bytes
 */
export function unpackInt4(bytes: Uint8Array, n: number, signed: boolean): Int8Array {
  if (!Number.isInteger(n) || n < 0 || bytes.length < Math.ceil(n / 2)) {
    throw new ShapeError('unpackInt4', `${n} codes need ${Math.ceil(n / 2)} bytes, got ${bytes.length}`);
  }
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = getNibble(bytes, i, signed);
  return out;
}

/** A packed 4-bit weight (see the header diagram). */
export interface PackedInt4 {
  readonly shape: readonly [number, number];
  readonly signed: boolean;
  readonly codes: Uint8Array;
  readonly scales: Float32Array;
  /** asymmetric only */
  readonly zeros: Int8Array | null;
}

/**
 * Pack codes + per-group scales and zero points into the Int4Layout.
 * @param codes (out*in) integer codes
 * @param zeroPoint per-group zero points; all zero means symmetric (no zeros array is stored)
 */
export function packWeightInt4(
  shape: readonly [number, number],
  codes: ArrayLike<number>,
  scale: Float32Array,
  zeroPoint: Float32Array,
  signed: boolean,
): PackedInt4 {
  const where = 'packWeightInt4';
  if (codes.length !== shape[0] * shape[1]) throw new ShapeError(where, `${codes.length} codes for shape [${shape.join(',')}]`);
  if (scale.length !== zeroPoint.length) throw new ShapeError(where, `${scale.length} scales but ${zeroPoint.length} zero points`);
  const symmetric = zeroPoint.every((z) => z === 0);
  if (signed && !symmetric) throw new ValueError(where, 'signed codes must have zero points of 0');
  let zeros: Int8Array | null = null;
  if (!symmetric) {
    zeros = new Int8Array(zeroPoint.length);
    for (let g = 0; g < zeroPoint.length; g++) {
      const z = zeroPoint[g];
      if (!Number.isInteger(z) || z < -128 || z > 127) throw new ValueError(where, `zero point ${z} of group ${g} does not fit int8`);
      zeros[g] = z;
    }
  }
  return { shape, signed, codes: packInt4(codes, signed), scales: scale.slice(), zeros };
}

/** Total bytes of a PackedInt4 (equals bytesFor for its shape and group count). */
export function packedBytes(p: PackedInt4): number {
  return p.codes.length + p.scales.byteLength + (p.zeros ? p.zeros.byteLength : 0);
}
