/**
 * safetensors reader and writer.
 *
 *   [0, 8)        u64 LE N = header length
 *   [8, 8+N)      UTF-8 JSON: {"__metadata__": {str: str}?, name: {dtype, shape, data_offsets: [b, e]}, ...}
 *   [8+N, EOF)    tensor bytes, little-endian, row-major; offsets relative to 8+N
 *
 * The reader follows the reference implementation's checks and closes its gaps: header length
 * cap, strict UTF-8 and strict JSON (duplicate keys refused, integers only, <= 2^53 - 1), exact
 * entry keys, known dtype, numel x size == e - b (no overflow), and the byte buffer covered
 * exactly: sorted by offset, first at 0, each begin = previous end (no gaps, no overlaps), last
 * end = file end (no truncation, no trailing polyglot bytes). Values are read into f32 (F32;
 * F16 and BF16 converted exactly; F64 rounded to nearest), i32 (I32, I16; I64 when every value
 * fits), i8 (I8), u8 (U8, BOOL in {0, 1}). Other dtypes (F8, U16, U32, U64, C64) are listed by
 * `parseSafetensorsHeader` but refused by the reader.
 */
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { AllocBudget, Cursor, bf16BytesToF32, budgetFor, f16BytesToF32, utf8, type ReadOptions } from './bytes.js';
import { FormatError, type FormatLoc } from './errors.js';
import { refuseNonModel } from './sniff.js';
import { parseStrictJson, type Json } from './strict-json.js';
import { checkFinite, safeNumel, tensorBytes, tensorMap, type TensorInfo, type TensorSet } from './tensors.js';

/** Bytes per element of every byte-sized safetensors dtype. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  F8_E4M3FNUZ: 1,
  F8_E5M2FNUZ: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
  C64: 8,
};

/** dtypes the reader converts, and the Tensor dtype they become. */
const READ_AS: Readonly<Record<string, DType>> = { F32: 'f32', F64: 'f32', F16: 'f32', BF16: 'f32', I64: 'i32', I32: 'i32', I16: 'i32', I8: 'i8', U8: 'u8', BOOL: 'u8' };

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** byte range relative to `dataStart` */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** entries in header order */
  entries: SafetensorsEntry[];
  metadata: Record<string, string> | undefined;
  /** absolute file offset of the byte buffer (8 + N) */
  dataStart: number;
}

export interface SafetensorsReadOptions extends ReadOptions {
  /** header length cap (default 16 MiB; the reference reader allows 100 MB) */
  maxHeaderBytes?: number;
}

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string> | undefined;
  info: TensorInfo[];
}

const MAX_RANK = 16;

/** Validate the header and the byte-buffer layout without reading tensor values. */
export function parseSafetensorsHeader(bytes: Uint8Array, opts: SafetensorsReadOptions = {}): SafetensorsHeader {
  const loc: FormatLoc = { file: opts.file ?? '<safetensors>' };
  refuseNonModel(bytes, loc);
  const cap = opts.maxHeaderBytes ?? 16 * 1024 * 1024;
  const c = new Cursor(bytes, loc);
  if (bytes.length < 8) throw new FormatError('E_TRUNCATED', c.at(), `file of ${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi !== 0 || lo > cap) {
    throw new FormatError('E_HEADER_TOO_LARGE', { ...loc, offset: 0 }, `header length ${hi ? `${hi}*2^32+${lo}` : lo} exceeds the cap of ${cap} bytes`);
  }
  const N = lo;
  if (8 + N > bytes.length) throw new FormatError('E_TRUNCATED', { ...loc, offset: 0 }, `header of ${N} bytes declared, ${bytes.length - 8} present`);
  const text = utf8(bytes.subarray(8, 8 + N), { ...loc, offset: 8, field: 'header' });
  const doc = parseStrictJson(text, { ...loc, offset: 8 });
  if (!(doc instanceof Map)) throw new FormatError('E_SYNTAX', { ...loc, offset: 8 }, 'header is not a JSON object');
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, v] of doc) {
    const at: FormatLoc = { ...loc, field: name };
    if (name === '__metadata__') {
      if (!(v instanceof Map)) throw new FormatError('E_SYNTAX', at, '__metadata__ must be an object of strings');
      metadata = {};
      for (const [k, s] of v) {
        if (typeof s !== 'string') throw new FormatError('E_SYNTAX', { ...loc, field: `__metadata__.${k}` }, 'metadata values must be strings');
        Object.defineProperty(metadata, k, { value: s, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (!(v instanceof Map)) throw new FormatError('E_SYNTAX', at, 'tensor entry must be an object');
    const keys = [...v.keys()].sort().join(',');
    if (keys !== 'data_offsets,dtype,shape') throw new FormatError('E_SYNTAX', at, `entry keys must be dtype, shape, data_offsets; got ${keys}`);
    const dtype = v.get('dtype');
    if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPES)) throw new FormatError('E_DTYPE', at, `unknown or sub-byte dtype ${JSON.stringify(dtype)}`);
    const shape = v.get('shape') as Json;
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => typeof d === 'number')) {
      throw new FormatError('E_SHAPE', at, `shape must be an array of at most ${MAX_RANK} integers`);
    }
    const offs = v.get('data_offsets') as Json;
    if (!Array.isArray(offs) || offs.length !== 2 || typeof offs[0] !== 'number' || typeof offs[1] !== 'number') {
      throw new FormatError('E_SYNTAX', at, 'data_offsets must be [begin, end]');
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw new FormatError('E_OFFSETS', at, `data_offsets [${begin}, ${end}] end before begin`);
    const numel = safeNumel(shape as number[]);
    const nbytes = numel * SAFETENSORS_DTYPES[dtype];
    if (numel < 0 || !Number.isSafeInteger(nbytes)) throw new FormatError('E_SHAPE', at, `shape ${JSON.stringify(shape)} overflows`);
    if (end - begin !== nbytes) throw new FormatError('E_BYTECOUNT', at, `${dtype} ${JSON.stringify(shape)} needs ${nbytes} bytes, data_offsets span ${end - begin}`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  const dataStart = 8 + N;
  const dataLen = bytes.length - dataStart;
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin !== pos) {
      throw new FormatError('E_OFFSETS', { ...loc, field: e.name, offset: dataStart + e.begin }, e.begin < pos ? `overlaps the previous tensor (begin ${e.begin} < ${pos})` : `gap of ${e.begin - pos} bytes before it`);
    }
    pos = e.end;
  }
  if (pos > dataLen) throw new FormatError('E_TRUNCATED', { ...loc, offset: bytes.length }, `tensors need ${pos} data bytes, file has ${dataLen}`);
  if (pos < dataLen) throw new FormatError('E_TRAILING_DATA', { ...loc, offset: dataStart + pos }, `${dataLen - pos} bytes after the last tensor`);
  return { entries, metadata, dataStart };
}

/** The listing of a safetensors file (no tensor values read). */
export function listSafetensors(bytes: Uint8Array, opts: SafetensorsReadOptions = {}): TensorInfo[] {
  const h = parseSafetensorsHeader(bytes, opts);
  return h.entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, numel: safeNumel(e.shape), bytes: e.end - e.begin }));
}

/** The allocation bound of readSafetensors: F16/BF16 -> f32 doubles at most every byte. */
export function safetensorsAllocBound(fileSize: number): number {
  return 2 * fileSize + 4096;
}

/** Read every tensor. Throws FormatError for any inconsistency, unsupported dtype, or NaN/Inf in f32 values. */
export function readSafetensors(bytes: Uint8Array, opts: SafetensorsReadOptions = {}): SafetensorsFile {
  const loc: FormatLoc = { file: opts.file ?? '<safetensors>' };
  const h = parseSafetensorsHeader(bytes, opts);
  const budget = budgetFor(opts, safetensorsAllocBound(bytes.length));
  const tensors = new Map<string, Tensor>();
  const info: TensorInfo[] = [];
  for (const e of h.entries) {
    const src = bytes.subarray(h.dataStart + e.begin, h.dataStart + e.end);
    const t = convert(e, src, budget, { ...loc, field: e.name, offset: h.dataStart + e.begin });
    if (!opts.allowNonFinite) checkFinite(e.name, t, loc);
    tensors.set(e.name, t);
    info.push({ name: e.name, dtype: e.dtype, shape: e.shape, numel: t.size, bytes: e.end - e.begin });
  }
  return { tensors, metadata: h.metadata, info };
}

function convert(e: SafetensorsEntry, src: Uint8Array, budget: AllocBudget, loc: FormatLoc): Tensor {
  const to = READ_AS[e.dtype];
  if (!to) throw new FormatError('E_DTYPE', loc, `dtype ${e.dtype} is not supported (F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL)`);
  const n = safeNumel(e.shape);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (e.dtype) {
    case 'F32': {
      const d = budget.f32(n, loc, 'tensor');
      new Uint8Array(d.buffer).set(src);
      return new Tensor('f32', e.shape, d);
    }
    case 'F16': {
      const d = budget.f32(n, loc, 'tensor');
      f16BytesToF32(src, d);
      return new Tensor('f32', e.shape, d);
    }
    case 'BF16': {
      const d = budget.f32(n, loc, 'tensor');
      bf16BytesToF32(src, d);
      return new Tensor('f32', e.shape, d);
    }
    case 'F64': {
      // rounded to nearest float32 (the one lossy conversion; documented in docs/formats.md)
      const d = budget.f32(n, loc, 'tensor');
      for (let i = 0; i < n; i++) d[i] = view.getFloat64(8 * i, true);
      return new Tensor('f32', e.shape, d);
    }
    case 'I32': {
      const d = budget.i32(n, loc, 'tensor');
      new Uint8Array(d.buffer).set(src);
      return new Tensor('i32', e.shape, d);
    }
    case 'I16': {
      const d = budget.i32(n, loc, 'tensor');
      for (let i = 0; i < n; i++) d[i] = view.getInt16(2 * i, true);
      return new Tensor('i32', e.shape, d);
    }
    case 'I64': {
      const d = budget.i32(n, loc, 'tensor');
      for (let i = 0; i < n; i++) {
        const lo = view.getUint32(8 * i, true);
        const hi = view.getInt32(8 * i + 4, true);
        if (!((hi === 0 && lo < 0x80000000) || (hi === -1 && lo >= 0x80000000))) {
          throw new FormatError('E_DTYPE', { ...loc, field: `${loc.field}[${i}]` }, `int64 value ${hi * 2 ** 32 + lo} does not fit i32`);
        }
        d[i] = lo | 0;
      }
      return new Tensor('i32', e.shape, d);
    }
    case 'I8': {
      const d = budget.i8(n, loc, 'tensor');
      new Uint8Array(d.buffer).set(src);
      return new Tensor('i8', e.shape, d);
    }
    default: {
      // U8, BOOL
      const d = budget.u8(n, loc, 'tensor');
      d.set(src);
      if (e.dtype === 'BOOL') {
        for (let i = 0; i < n; i++) if (d[i] > 1) throw new FormatError('E_DTYPE', { ...loc, field: `${loc.field}[${i}]` }, `BOOL byte ${d[i]} is not 0 or 1`);
      }
      return new Tensor('u8', e.shape, d);
    }
  }
}

const WRITE_AS: Partial<Record<DType, string>> = { f32: 'F32', i32: 'I32', i8: 'I8', u8: 'U8' };
const ALIGN: Record<string, number> = { F32: 4, I32: 4, I8: 1, U8: 1 };

/**
 * Write tensors as safetensors, the way the reference writer does: `__metadata__` first,
 * entries sorted by descending alignment then name, header padded with spaces to a multiple
 * of 8 so every tensor is aligned to its element size. Packed 4-bit tensors are refused (E_DTYPE).
 */
export function writeSafetensors(ts: TensorSet, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const loc: FormatLoc = { file: '<writeSafetensors>' };
  const list = [...tensorMap(ts)].map(([name, t]) => {
    const dtype = WRITE_AS[t.dtype];
    if (!dtype) throw new FormatError('E_DTYPE', { ...loc, field: name }, `dtype ${t.dtype} has no safetensors equivalent (use .qwm for packed 4-bit)`);
    if (name === '__metadata__') throw new FormatError('E_NAME', { ...loc, field: name }, 'reserved name');
    return { name, t, dtype };
  });
  list.sort((a, b) => ALIGN[b.dtype] - ALIGN[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new FormatError('E_SYNTAX', { ...loc, field: `__metadata__.${k}` }, 'metadata values must be strings');
    }
  }
  let off = 0;
  const parts: string[] = [];
  if (metadata) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  for (const { name, t, dtype } of list) {
    const n = t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: t.shape, data_offsets: [off, off + n] })}`);
    off += n;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + off);
  const v = new DataView(out.buffer);
  v.setUint32(0, padded, true);
  out.fill(0x20, 8, 8 + padded);
  out.set(json, 8);
  let pos = 8 + padded;
  for (const { t } of list) {
    out.set(tensorBytes(t), pos);
    pos += t.data.byteLength;
  }
  return out;
}
