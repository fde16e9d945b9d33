/**
 * Byte-level helpers shared by the readers: bounds-checked little-endian reads, CRC-32, strict
 * UTF-8, exact float16/bfloat16 -> float32 conversion, and the allocation budget that bounds
 * what a reader may allocate from sizes it found in a file.
 */
import { FormatError, type FormatLoc } from './errors.js';

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF): the zip
// checksum, also the per-tensor checksum of .qwm files. crc32(ascii "123456789") = 0xCBF43926.

let CRC_TABLES: Uint32Array | undefined;

/** 8 tables of 256 entries for slice-by-8 (table k = CRC of a byte followed by k zero bytes). */
function crcTables(): Uint32Array {
  if (CRC_TABLES) return CRC_TABLES;
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xff];
  }
  CRC_TABLES = t;
  return t;
}

/** CRC-32 of `bytes`, continuing from `prev` (pass the previous result to checksum in pieces). */
export function crc32(bytes: Uint8Array, prev = 0): number {
  const t = crcTables();
  let c = ~prev >>> 0;
  const n = bytes.length;
  let i = 0;
  // slice-by-8: 8 bytes per step through 8 tables (same result as the bytewise loop below)
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + bytes[i + 4]] ^
      t[512 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Bounds-checked reading

const TEXT = new TextDecoder('utf-8', { fatal: true });

/** Decode UTF-8 strictly; invalid sequences are an E_SYNTAX error at `loc`. */
export function utf8(bytes: Uint8Array, loc: FormatLoc): string {
  try {
    return TEXT.decode(bytes);
  } catch {
    throw new FormatError('E_SYNTAX', loc, 'invalid UTF-8');
  }
}

/** A cursor over `bytes` whose every read is checked against the end; errors carry absolute offsets. */
export class Cursor {
  pos: number;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly loc: FormatLoc,
    start = 0,
    /** added to reported offsets (the position of `bytes` inside the file) */
    readonly base = 0,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
  at(field?: string): FormatLoc {
    return { ...this.loc, field: field ?? this.loc.field, offset: this.base + this.pos };
  }
  need(n: number, what: string): void {
    if (n > this.remaining || n < 0) {
      throw new FormatError('E_TRUNCATED', this.at(), `${what}: need ${n} bytes, ${this.remaining} left`);
    }
  }
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.bytes[this.pos++];
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(what = 'i32'): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** u64 as a number; values above 2^53 - 1 are an E_LIMIT error. */
  u64(what = 'u64'): number {
    this.need(8, what);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    if (hi >= 0x200000) throw new FormatError('E_LIMIT', this.at(), `${what}: 64-bit value above 2^53`);
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }
  f64be(what = 'f64'): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }
  /** A view (no copy) of the next n bytes. */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Half precision

/** Exact float16 (IEEE binary16) bits -> number. Every float16 is exactly a float32. */
export function f16ToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1024 + m) * 2 ** (e - 25);
}

/** Copy little-endian float16 bytes into a Float32Array (exact). */
export function f16BytesToF32(src: Uint8Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = f16ToNumber(src[2 * i] | (src[2 * i + 1] << 8));
}

/** Copy little-endian bfloat16 bytes into a Float32Array (exact: bf16 is the top half of f32). */
export function bf16BytesToF32(src: Uint8Array, out: Float32Array): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < out.length; i++) bits[i] = ((src[2 * i] | (src[2 * i + 1] << 8)) << 16) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Allocation budget

/**
 * Bounds the bytes a reader allocates from sizes it read in a file. Every allocation whose size
 * comes from the file (decompression buffers, tensor storage, converted copies) is charged
 * here first; going over `limit` is an E_LIMIT error, raised before the allocation. `used` is
 * cumulative, so it bounds the peak as well. Pass one in to observe or tighten a reader.
 */
export class AllocBudget {
  used = 0;
  constructor(readonly limit: number) {
    if (!(limit >= 0)) throw new FormatError('E_LIMIT', {}, `allocation limit must be >= 0, got ${limit}`);
  }
  /** Charge `bytes` (throws E_LIMIT at `loc` if it would exceed the limit). */
  take(bytes: number, loc: FormatLoc, what: string): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || this.used + bytes > this.limit) {
      throw new FormatError(
        'E_LIMIT',
        loc,
        `${what}: allocating ${bytes} bytes would exceed the reader's limit of ${this.limit} (already ${this.used})`,
      );
    }
    this.used += bytes;
  }
  u8(n: number, loc: FormatLoc, what: string): Uint8Array {
    this.take(n, loc, what);
    return new Uint8Array(n);
  }
  f32(n: number, loc: FormatLoc, what: string): Float32Array {
    this.take(n * 4, loc, what);
    return new Float32Array(n);
  }
  i32(n: number, loc: FormatLoc, what: string): Int32Array {
    this.take(n * 4, loc, what);
    return new Int32Array(n);
  }
  i8(n: number, loc: FormatLoc, what: string): Int8Array {
    this.take(n, loc, what);
    return new Int8Array(n);
  }
}

/** Options shared by every reader. */
export interface ReadOptions {
  /** label used in error messages (e.g. the file path) */
  file?: string;
  /**
   * Cap on bytes allocated from sizes read in the file. Default: a multiple of the file size
   * specific to each format (see docs/formats.md, "Allocation bounds").
   */
  maxAllocBytes?: number;
  /** A budget to charge instead of a fresh one (lets callers and tests observe `used`). */
  budget?: AllocBudget;
  /** Accept NaN/Inf in f32 tensors (default false: refused with NonFiniteError). */
  allowNonFinite?: boolean;
}

/** The budget a reader should use: the caller's, or a fresh one with the given default limit. */
export function budgetFor(opts: ReadOptions, defaultLimit: number): AllocBudget {
  if (opts.budget) return opts.budget;
  return new AllocBudget(opts.maxAllocBytes ?? defaultLimit);
}
