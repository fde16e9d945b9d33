/**
 * Element types. `i4`/`u4` are packed two values per byte, low nibble = even index:
 *
 *   byte k = (v[2k+1] << 4) | (v[2k] & 0xF)      i4 nibbles are two's complement in [-8, 7]
 *
 * An odd element count leaves the high nibble of the last byte zero.
 */
export type DType = 'f32' | 'i32' | 'i8' | 'u8' | 'i4' | 'u4';

export type Storage = Float32Array | Int32Array | Int8Array | Uint8Array;

export const DTYPES: readonly DType[] = ['f32', 'i32', 'i8', 'u8', 'i4', 'u4'];

export function isPacked(dtype: DType): dtype is 'i4' | 'u4' {
  return dtype === 'i4' || dtype === 'u4';
}

/** Number of storage elements (bytes for packed types) that hold `numel` values. */
export function storageLength(dtype: DType, numel: number): number {
  return isPacked(dtype) ? (numel + 1) >> 1 : numel;
}

/** Bytes that hold `numel` values of `dtype`. */
export function byteLength(dtype: DType, numel: number): number {
  switch (dtype) {
    case 'f32':
    case 'i32':
      return numel * 4;
    case 'i8':
    case 'u8':
      return numel;
    case 'i4':
    case 'u4':
      return (numel + 1) >> 1;
  }
}

export function allocStorage(dtype: DType, numel: number): Storage {
  const n = storageLength(dtype, numel);
  switch (dtype) {
    case 'f32':
      return new Float32Array(n);
    case 'i32':
      return new Int32Array(n);
    case 'i8':
      return new Int8Array(n);
    case 'u8':
    case 'i4':
    case 'u4':
      return new Uint8Array(n);
  }
}

/** Does `data` have the typed-array class that stores `dtype`? */
export function storageMatches(dtype: DType, data: Storage): boolean {
  switch (dtype) {
    case 'f32':
      return data instanceof Float32Array;
    case 'i32':
      return data instanceof Int32Array;
    case 'i8':
      return data instanceof Int8Array;
    case 'u8':
    case 'i4':
    case 'u4':
      return data instanceof Uint8Array;
  }
}

/** Read packed nibble `i`: u4 in [0, 15], i4 sign-extended to [-8, 7]. */
export function getNibble(bytes: Uint8Array, i: number, signed: boolean): number {
  const b = bytes[i >> 1];
  const v = i & 1 ? b >> 4 : b & 0xf;
  return signed ? (v << 28) >> 28 : v;
}

/** Write packed nibble `i` (v is taken modulo 16, so -1 stores 0xF). */
export function setNibble(bytes: Uint8Array, i: number, v: number): void {
  const k = i >> 1;
  const n = v & 0xf;
  bytes[k] = i & 1 ? (bytes[k] & 0x0f) | (n << 4) : (bytes[k] & 0xf0) | n;
}

/** Inclusive value range of an integer dtype. */
export function intRange(dtype: DType): [number, number] {
  switch (dtype) {
    case 'i32':
      return [-2147483648, 2147483647];
    case 'i8':
      return [-128, 127];
    case 'u8':
      return [0, 255];
    case 'i4':
      return [-8, 7];
    case 'u4':
      return [0, 15];
    case 'f32':
      return [-Infinity, Infinity];
  }
}
