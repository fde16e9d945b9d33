/**
 * Byte-level encoding for the WebAssembly binary format: LEB128 integers, IEEE floats,
 * length-prefixed vectors and sections. No semantics here; module.ts builds on it.
 */

/** Growable byte sink. */
export class Bytes {
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(256);
  length = 0;

  byte(b: number): this {
    if (this.length === this.buf.length) {
      const n = new Uint8Array(this.buf.length * 2);
      n.set(this.buf);
      this.buf = n;
    }
    this.buf[this.length++] = b & 0xff;
    return this;
  }

  bytes(bs: ArrayLike<number>): this {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]);
    return this;
  }

  u32(v: number): this {
    return this.bytes(uleb(v));
  }

  /** A UTF-8 name, length-prefixed. */
  name(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u32(b.length).bytes(b);
  }

  /** A length-prefixed blob (section payloads, function bodies). */
  blob(b: Bytes | Uint8Array): this {
    const u = b instanceof Bytes ? b.toUint8Array() : b;
    return this.u32(u.length).bytes(u);
  }

  toUint8Array(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }
}

/** Unsigned LEB128 of an integer in [0, 2^32). */
export function uleb(v: number): number[] {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uleb: ${v} is not a u32`);
  const out: number[] = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an integer in [-2^31, 2^32) (values >= 2^31 are taken modulo 2^32, as i32). */
export function sleb32(v: number): number[] {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new RangeError(`sleb32: ${v} is not an i32`);
  let x = v | 0;
  const out: number[] = [];
  for (;;) {
    const b = x & 0x7f;
    x >>= 7;
    if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** Signed LEB128 of a bigint in [-2^63, 2^64) as i64. */
export function sleb64(v: bigint): number[] {
  let x = BigInt.asIntN(64, v);
  const out: number[] = [];
  for (;;) {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    if ((x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const f32buf = new DataView(new ArrayBuffer(8));

/** IEEE-754 binary32 little-endian bytes of fround(v). */
export function f32le(v: number): number[] {
  f32buf.setFloat32(0, v, true);
  return [f32buf.getUint8(0), f32buf.getUint8(1), f32buf.getUint8(2), f32buf.getUint8(3)];
}

/** IEEE-754 binary64 little-endian bytes. */
export function f64le(v: number): number[] {
  f32buf.setFloat64(0, v, true);
  const out: number[] = [];
  for (let i = 0; i < 8; i++) out.push(f32buf.getUint8(i));
  return out;
}
