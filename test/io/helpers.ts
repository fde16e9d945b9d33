/**
 * Test-only builders: a zip writer (stored / deflate, optional zip64 records), a pickle
 * assembler, a .qwm container wrapper for hand-made bodies, fixture loading, and the
 * typed-array allocation counter the fuzz tests use to check readers' allocation bounds.
 */
import { readFileSync } from 'node:fs';
import { deflateSync } from 'fflate';
import { crc32 } from '../../src/io/bytes.js';
import { FormatError } from '../../src/io/errors.js';
import { Tensor } from '../../src/tensor/tensor.js';

export const FIXTURES = new URL('../fixtures/checkpoints/', import.meta.url);

export function fixture(name: string): Uint8Array {
  const b = readFileSync(new URL(name, FIXTURES));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export interface ExpectedTensor {
  name: string;
  dtype: 'f32' | 'i32' | 'i8' | 'u8';
  shape: number[];
  crc32: number;
  first: string;
  source_dtype: string;
}

export interface ExpectedFile {
  tensors?: ExpectedTensor[];
  extras?: ExpectedTensor[];
  skipped?: string[];
  refused?: string[];
  metadata?: Record<string, string>;
  config?: Record<string, Record<string, number>>;
}

export const EXPECTED = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as {
  torch: string;
  seed: number;
  files: Record<string, ExpectedFile>;
};

export function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Compare a tensor with its recorded dtype, shape, CRC-32 of all bytes and first values (bit for bit). */
export function matchesExpected(t: Tensor, e: ExpectedTensor): string | undefined {
  if (t.dtype !== e.dtype) return `${e.name}: dtype ${t.dtype} != ${e.dtype}`;
  if (t.shape.join(',') !== e.shape.join(',')) return `${e.name}: shape [${t.shape}] != [${e.shape}]`;
  const first = Buffer.from(e.first, 'base64');
  const head = bytesOf(t).subarray(0, first.length);
  if (t.dtype === 'f32' || t.dtype === 'i32') {
    if (!Buffer.from(head).equals(first)) return `${e.name}: first values differ`;
  } else {
    const want = new Int32Array(first.buffer, first.byteOffset, first.length / 4);
    for (let i = 0; i < want.length; i++) if (t.data[i] !== want[i]) return `${e.name}: value ${i} ${t.data[i]} != ${want[i]}`;
  }
  const c = crc32(bytesOf(t));
  if (c !== e.crc32) return `${e.name}: crc32 ${c} != ${e.crc32}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// zip writer

export interface ZipIn {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** override the CRC / sizes written into the central directory */
  crc?: number;
  size?: number;
  compressedSize?: number;
  flags?: number;
  method?: number;
  localName?: string;
  /** write no local header/data: the central entry points at this existing offset */
  at?: number;
}

export function writeZip(entries: ZipIn[], opts: { zip64?: boolean; comment?: string } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let off = 0;
  const cen: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const e of entries) {
    const name = enc.encode(e.name);
    const lname = enc.encode(e.localName ?? e.name);
    const body = e.deflate ? deflateSync(e.data) : e.data;
    const method = e.method ?? (e.deflate ? 8 : 0);
    const crc = e.crc ?? crc32(e.data);
    const size = e.size ?? e.data.length;
    const csize = e.compressedSize ?? body.length;
    const loc = new Uint8Array(30 + lname.length);
    const lv = new DataView(loc.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, e.flags ?? 0, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, csize, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, lname.length, true);
    loc.set(lname, 30);
    const localOffset = e.at ?? off;
    if (e.at === undefined) {
      parts.push(loc, body);
      off += loc.length + body.length;
    }
    const c = new Uint8Array(46 + name.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, e.flags ?? 0, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, csize, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, localOffset, true);
    c.set(name, 46);
    cen.push(c);
  }
  const cdOffset = off;
  const cdSize = cen.reduce((a, c) => a + c.length, 0);
  parts.push(...cen);
  off += cdSize;
  if (opts.zip64) {
    const z = new Uint8Array(56 + 20);
    const zv = new DataView(z.buffer);
    zv.setUint32(0, 0x06064b50, true);
    zv.setBigUint64(4, 44n, true);
    zv.setBigUint64(24, BigInt(entries.length), true);
    zv.setBigUint64(32, BigInt(entries.length), true);
    zv.setBigUint64(40, BigInt(cdSize), true);
    zv.setBigUint64(48, BigInt(cdOffset), true);
    zv.setUint32(56, 0x07064b50, true);
    zv.setBigUint64(64, BigInt(off), true);
    zv.setUint32(72, 1, true);
    parts.push(z);
  }
  const comment = enc.encode(opts.comment ?? '');
  const eocd = new Uint8Array(22 + comment.length);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, opts.zip64 ? 0xffff : entries.length, true);
  ev.setUint16(10, opts.zip64 ? 0xffff : entries.length, true);
  ev.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, opts.zip64 ? 0xffffffff : cdOffset, true);
  ev.setUint16(20, comment.length, true);
  eocd.set(comment, 22);
  parts.push(eocd);
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// pickle assembler (protocol 2 opcodes as torch writes them)

export class Pk {
  private readonly b: number[] = [];
  private readonly enc = new TextEncoder();
  op(...bytes: number[]): this {
    this.b.push(...bytes);
    return this;
  }
  proto(v = 2): this {
    return this.op(0x80, v);
  }
  global(m: string, n: string): this {
    return this.op(0x63, ...this.enc.encode(`${m}\n${n}\n`));
  }
  str(s: string): this {
    const u = this.enc.encode(s);
    return this.op(0x58, u.length & 0xff, (u.length >> 8) & 0xff, (u.length >> 16) & 0xff, u.length >>> 24, ...u);
  }
  short(s: string): this {
    const u = this.enc.encode(s);
    return this.op(0x8c, u.length, ...u);
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    const d = new DataView(new ArrayBuffer(4));
    d.setInt32(0, v, true);
    return this.op(0x4a, ...new Uint8Array(d.buffer));
  }
  float(v: number): this {
    const d = new DataView(new ArrayBuffer(8));
    d.setFloat64(0, v, false);
    return this.op(0x47, ...new Uint8Array(d.buffer));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  reduce(): this {
    return this.op(0x52);
  }
  newobj(): this {
    return this.op(0x81);
  }
  build(): this {
    return this.op(0x62);
  }
  setitem(): this {
    return this.op(0x73);
  }
  setitems(): this {
    return this.op(0x75);
  }
  append(): this {
    return this.op(0x61);
  }
  put(i: number): this {
    return this.op(0x71, i);
  }
  get(i: number): this {
    return this.op(0x68, i);
  }
  none(): this {
    return this.op(0x4e);
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }
  persid(): this {
    return this.op(0x51);
  }
  stop(): this {
    return this.op(0x2e);
  }
  /** ('storage', torch.<Type>, key, 'cpu', numel) BINPERSID */
  storage(type: string, key: string, numel: number): this {
    return this.mark().str('storage').global('torch', type).str(key).str('cpu').int(numel).tuple().persid();
  }
  /** _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) with the storage pushed by `storage` */
  tensor(type: string, key: string, numel: number, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark().storage(type, key, numel).int(offset);
    this.mark();
    for (const s of size) this.int(s);
    this.tuple().mark();
    for (const s of stride) this.int(s);
    this.tuple().bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
    return this;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.b);
  }
}

/** A torch-style archive holding `pkl` and storage records. */
export function torchZip(pkl: Uint8Array, records: Record<string, Uint8Array>, prefix = 'archive', extra: ZipIn[] = []): Uint8Array {
  return writeZip([
    { name: `${prefix}/data.pkl`, data: pkl },
    ...Object.entries(records).map(([k, v]) => ({ name: `${prefix}/data/${k}`, data: v })),
    { name: `${prefix}/version`, data: new TextEncoder().encode('3\n') },
    ...extra,
  ]);
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

// ---------------------------------------------------------------------------------------------
// .qwm container around a hand-made msgpack body

export function qwmContainer(body: Uint8Array, opts: { deflate?: boolean; rawLen?: number; crc?: number } = {}): Uint8Array {
  const payload = opts.deflate ? deflateSync(body) : body;
  const out = new Uint8Array(32 + payload.length);
  const v = new DataView(out.buffer);
  out.set([0x51, 0x57, 0x4d, 0x46]);
  v.setUint16(4, 1, true);
  v.setUint16(6, opts.deflate ? 1 : 0, true);
  v.setUint32(8, payload.length, true);
  v.setUint32(16, opts.rawLen ?? body.length, true);
  v.setUint32(24, opts.crc ?? crc32(body), true);
  out.set(payload, 32);
  return out;
}

// ---------------------------------------------------------------------------------------------
// allocation counting

const TYPED = ['ArrayBuffer', 'Uint8Array', 'Int8Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'Int16Array', 'Uint16Array'] as const;

/**
 * Run `fn` with the global typed-array and ArrayBuffer constructors wrapped so that every
 * `new X(n)` with a numeric length is counted (bytes). Copies made by code that captured the
 * constructors earlier (fflate, msgpack) are not seen; our readers allocate with `new`.
 */
export function countAllocations<T>(fn: () => T): { result?: T; error?: unknown; bytes: number } {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = TYPED.map((k) => g[k]);
  let bytes = 0;
  TYPED.forEach((k, i) => {
    const Orig = saved[i] as { BYTES_PER_ELEMENT?: number; new (...a: unknown[]): object };
    const per = k === 'ArrayBuffer' ? 1 : (Orig.BYTES_PER_ELEMENT ?? 1);
    g[k] = new Proxy(Orig, {
      construct(target, args, newTarget) {
        if (typeof args[0] === 'number') bytes += args[0] * per;
        return Reflect.construct(target, args, newTarget === g[k] ? target : newTarget);
      },
    });
  });
  try {
    return { result: fn(), bytes };
  } catch (error) {
    return { error, bytes };
  } finally {
    TYPED.forEach((k, i) => {
      g[k] = saved[i];
    });
  }
}

export function isFormatError(e: unknown): e is FormatError {
  return e instanceof FormatError;
}
