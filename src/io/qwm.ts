/**
 * The native weight format, `.qwm`: one file per model.
 *
 *   offset size  field
 *   0      4     magic "QWMF"
 *   4      2     container version (u16 LE) = 1
 *   6      2     compression (u16 LE): 0 = stored, 1 = raw DEFLATE (fflate)
 *   8      8     payload length P (u64 LE): bytes after this 32-byte header; file length = 32 + P
 *   16     8     body length R (u64 LE): msgpack bytes after decompression
 *   24     4     CRC-32 of the R body bytes
 *   28     4     reserved, 0
 *   32     P     payload: the body, stored or deflated
 *
 * The body is one msgpack map:
 *   { format: 'quantwm', version: 1, config: {...}, meta: {...},
 *     tensors: [{ name, dtype: f32|i32|i8|u8|i4|u4, shape: [..], bytes, checksum, data: bin }] }
 * `bytes` = byteLength(dtype, numel) (packed 4-bit: ceil(numel/2), low nibble = even index, an
 * odd count leaves the last high nibble 0), `checksum` = CRC-32 of `data`, little-endian values.
 * config and meta are plain data (maps, arrays, strings, finite numbers, booleans, null).
 *
 * The reader checks every declared size against the file before allocating: R <= maxBytes and
 * R <= 1032 x P + 64 (DEFLATE cannot expand more), inflation is streamed in 64 KiB input steps
 * and aborted as soon as output passes R, then length, CRC, msgpack structure (scanMsgpack),
 * schema, per-tensor byte counts and checksums, NaN/Inf, and the config against the tensors.
 */
import { decode, encode } from '@msgpack/msgpack';
import { deflateSync, Inflate } from 'fflate';
import { DTYPES, byteLength, type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { AllocBudget, Cursor, budgetFor, crc32, type ReadOptions } from './bytes.js';
import { asWeightConfig, checkConfig } from './config.js';
import { FormatError, type FormatLoc } from './errors.js';
import { scanMsgpack } from './msgpack-scan.js';
import { checkFinite, safeNumel, tensorBytes, tensorMap, type TensorSet } from './tensors.js';

export const QWM_MAGIC = new Uint8Array([0x51, 0x57, 0x4d, 0x46]); // "QWMF"
export const QWM_VERSION = 1;
const HEADER = 32;
/** DEFLATE's maximum expansion is about 1032:1; anything claiming more is a lie or a bomb. */
const MAX_RATIO = 1032;
const DEFAULT_MAX_BYTES = 2 ** 31;
const INFLATE_STEP = 1 << 16;
const MAX_RANK = 8;
const MAX_NAME = 1024;

/** Plain data: what config and meta may hold. */
export type PlainData = null | boolean | number | string | PlainData[] | { [k: string]: PlainData };

export interface QwmModel {
  config: Record<string, PlainData>;
  tensors: Map<string, Tensor>;
  meta: Record<string, PlainData>;
}

export interface QwmInput {
  config?: Record<string, unknown>;
  tensors: TensorSet;
  meta?: Record<string, unknown>;
}

export interface QwmWriteOptions {
  /** DEFLATE level 0-9; 0 stores the body uncompressed. Default 6. */
  level?: number;
  /** write NaN/Inf f32 values instead of refusing (the reader will still refuse them by default) */
  allowNonFinite?: boolean;
}

export interface QwmReadOptions extends ReadOptions {
  /** absolute cap on the decompressed body (default 2 GiB) */
  maxBytes?: number;
  /** check known config sections against the tensors (default true) */
  checkConfig?: boolean;
}

function checkPlain(v: unknown, path: string, depth: number, loc: FormatLoc): void {
  if (depth > 12) throw new FormatError('E_LIMIT', { ...loc, field: path }, 'plain data nested deeper than 12');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new FormatError('E_CONFIG', { ...loc, field: path }, `number must be finite, got ${v}`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkPlain(x, `${path}[${i}]`, depth + 1, loc));
    return;
  }
  const proto = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
  if (typeof v === 'object' && (proto === Object.prototype || proto === null)) {
    for (const [k, x] of Object.entries(v as object)) checkPlain(x, path ? `${path}.${k}` : k, depth + 1, loc);
    return;
  }
  const kind = v === undefined ? 'undefined' : typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v;
  throw new FormatError('E_CONFIG', { ...loc, field: path }, `only plain data is allowed, got ${kind}`);
}

/** Serialize a model to .qwm bytes. Throws FormatError for non-plain config/meta, NaN/Inf weights, duplicate names. */
export function writeQwm(model: QwmInput, opts: QwmWriteOptions = {}): Uint8Array {
  const loc: FormatLoc = { file: '<writeQwm>' };
  const level = opts.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new FormatError('E_CONFIG', { ...loc, field: 'level' }, `level must be 0-9, got ${level}`);
  const config = model.config ?? {};
  const meta = model.meta ?? {};
  checkPlain(config, 'config', 0, loc);
  checkPlain(meta, 'meta', 0, loc);
  const tensors = tensorMap(model.tensors);
  const entries: unknown[] = [];
  let dataBytes = 0;
  for (const [name, t] of tensors) {
    if (!(t instanceof Tensor)) throw new FormatError('E_DTYPE', { ...loc, field: name }, 'not a Tensor');
    if (name.length === 0 || name.length > MAX_NAME) throw new FormatError('E_NAME', { ...loc, field: name }, `name length must be 1-${MAX_NAME}`);
    if (!opts.allowNonFinite) checkFinite(name, t, loc);
    const data = tensorBytes(t);
    entries.push({ name, dtype: t.dtype, shape: t.shape.slice(), bytes: data.length, checksum: crc32(data), data });
    dataBytes += data.length;
  }
  // size the encoder's buffer up front: growing it by doubling copies every tensor several times
  const body = encode({ format: 'quantwm', version: QWM_VERSION, config, tensors: entries, meta }, { initialBufferSize: dataBytes + 64 * entries.length + 65536 });
  const payload = level === 0 ? body : deflateSync(body, { level: level as 1 });
  const out = new Uint8Array(HEADER + payload.length);
  const v = new DataView(out.buffer);
  out.set(QWM_MAGIC, 0);
  v.setUint16(4, QWM_VERSION, true);
  v.setUint16(6, level === 0 ? 0 : 1, true);
  setU64(v, 8, payload.length);
  setU64(v, 16, body.length);
  v.setUint32(24, crc32(body), true);
  out.set(payload, HEADER);
  return out;
}

function setU64(v: DataView, off: number, n: number): void {
  v.setUint32(off, n % 0x100000000, true);
  v.setUint32(off + 4, Math.floor(n / 0x100000000), true);
}

/** The allocation bound of readQwm for a file of `fileSize` bytes (see docs/formats.md). */
export function qwmAllocBound(fileSize: number, maxBytes = DEFAULT_MAX_BYTES): number {
  const raw = Math.min(maxBytes, MAX_RATIO * Math.max(0, fileSize - HEADER) + 64);
  return 2 * raw + 4096;
}

/** Parse .qwm bytes. Every refusal is a FormatError naming the field and offset. */
export function readQwm(bytes: Uint8Array, opts: QwmReadOptions = {}): QwmModel {
  const loc: FormatLoc = { file: opts.file ?? '<qwm>' };
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const budget = budgetFor(opts, qwmAllocBound(bytes.length, maxBytes));
  const c = new Cursor(bytes, loc);
  if (bytes.length < HEADER) {
    if (bytes.length >= 4 && QWM_MAGIC.every((b, i) => bytes[i] === b)) throw new FormatError('E_TRUNCATED', c.at(), `file of ${bytes.length} bytes is shorter than the ${HEADER}-byte header`);
    throw new FormatError('E_MAGIC', c.at(), 'not a .qwm file (too short for the header)');
  }
  if (!QWM_MAGIC.every((b, i) => bytes[i] === b)) throw new FormatError('E_MAGIC', c.at(), 'not a .qwm file (magic "QWMF" missing)');
  c.pos = 4;
  const version = c.u16('version');
  if (version !== QWM_VERSION) throw new FormatError('E_UNSUPPORTED_FORMAT', { ...loc, offset: 4 }, `container version ${version}, this reader knows ${QWM_VERSION}`);
  const compression = c.u16('compression');
  if (compression > 1) throw new FormatError('E_UNSUPPORTED_FORMAT', { ...loc, offset: 6 }, `compression ${compression} (0 stored, 1 deflate)`);
  const payloadLen = c.u64('payload length');
  const rawLen = c.u64('body length');
  const bodyCrc = c.u32('body crc');
  const reserved = c.u32('reserved');
  if (reserved !== 0) throw new FormatError('E_SYNTAX', { ...loc, offset: 28 }, 'reserved header field is not 0');
  if (HEADER + payloadLen > bytes.length) throw new FormatError('E_TRUNCATED', { ...loc, offset: 8 }, `payload of ${payloadLen} bytes declared, ${bytes.length - HEADER} present`);
  if (HEADER + payloadLen < bytes.length) throw new FormatError('E_TRAILING_DATA', { ...loc, offset: HEADER + payloadLen }, `${bytes.length - HEADER - payloadLen} bytes after the payload`);
  if (rawLen > maxBytes) throw new FormatError('E_DECOMPRESSED_SIZE', { ...loc, offset: 16 }, `body of ${rawLen} bytes exceeds the cap of ${maxBytes}`);
  const payload = bytes.subarray(HEADER);
  let body: Uint8Array;
  if (compression === 0) {
    if (rawLen !== payloadLen) throw new FormatError('E_BYTECOUNT', { ...loc, offset: 16 }, `stored body: body length ${rawLen} != payload length ${payloadLen}`);
    body = payload;
  } else {
    if (rawLen > MAX_RATIO * payloadLen + 64) {
      throw new FormatError('E_DECOMPRESSED_SIZE', { ...loc, offset: 16 }, `body of ${rawLen} bytes from ${payloadLen} deflated bytes exceeds DEFLATE's ${MAX_RATIO}:1 limit`);
    }
    body = inflateCapped(payload, rawLen, budget, { ...loc, offset: HEADER });
  }
  const got = crc32(body);
  if (got !== bodyCrc) throw new FormatError('E_CHECKSUM', { ...loc, offset: 24 }, `body CRC-32 0x${got.toString(16)} != header 0x${bodyCrc.toString(16)}`);
  return parseBody(body, budget, opts, loc);
}

/**
 * Inflate `src` (raw DEFLATE) into exactly `len` bytes. Input is pushed in 64 KiB steps and the
 * stream is abandoned the moment output would exceed `len`, so a bomb costs at most one step.
 */
export function inflateCapped(src: Uint8Array, len: number, budget: AllocBudget, loc: FormatLoc): Uint8Array {
  const out = budget.u8(len, loc, 'decompressed body');
  let filled = 0;
  let ended = false;
  const inf = new Inflate((chunk, final) => {
    if (filled + chunk.length > len) {
      throw new FormatError('E_DECOMPRESSED_SIZE', loc, `decompressed data exceeds the declared ${len} bytes`);
    }
    out.set(chunk, filled);
    filled += chunk.length;
    if (final) ended = true;
  });
  try {
    for (let i = 0; i < src.length; i += INFLATE_STEP) {
      const end = Math.min(src.length, i + INFLATE_STEP);
      inf.push(src.subarray(i, end), end === src.length);
    }
    if (src.length === 0) inf.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError('E_SYNTAX', loc, `corrupt DEFLATE stream (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!ended || filled !== len) {
    throw new FormatError('E_DECOMPRESSED_SIZE', loc, `decompressed ${filled} bytes, header declares ${len}`);
  }
  return out;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function parseBody(body: Uint8Array, budget: AllocBudget, opts: QwmReadOptions, loc: FormatLoc): QwmModel {
  const bodyLoc = { ...loc, field: 'body' };
  scanMsgpack(
    body,
    {
      maxDepth: 16,
      maxItems: 1 << 22,
      maxStrLength: 1 << 20,
      maxBinLength: body.length,
      maxArrayLength: 1 << 20,
      maxMapLength: 1 << 12,
    },
    { ...loc, offset: 0, field: 'body' },
  );
  let doc: unknown;
  try {
    doc = decode(body, {
      maxStrLength: 1 << 20,
      maxBinLength: body.length,
      maxArrayLength: 1 << 20,
      maxMapLength: 1 << 12,
      maxExtLength: 0,
    });
  } catch (e) {
    throw new FormatError('E_SYNTAX', bodyLoc, `msgpack: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObj(doc)) throw new FormatError('E_SYNTAX', bodyLoc, 'body is not a map');
  const keys = Object.keys(doc).sort().join(',');
  if (keys !== 'config,format,meta,tensors,version') throw new FormatError('E_SYNTAX', bodyLoc, `body keys must be config, format, meta, tensors, version; got ${keys}`);
  if (doc.format !== 'quantwm') throw new FormatError('E_MAGIC', { ...loc, field: 'format' }, `format is ${JSON.stringify(doc.format)}, not "quantwm"`);
  if (doc.version !== QWM_VERSION) throw new FormatError('E_UNSUPPORTED_FORMAT', { ...loc, field: 'version' }, `body version ${String(doc.version)}, this reader knows ${QWM_VERSION}`);
  if (!isObj(doc.config)) throw new FormatError('E_SYNTAX', { ...loc, field: 'config' }, 'config is not a map');
  if (!isObj(doc.meta)) throw new FormatError('E_SYNTAX', { ...loc, field: 'meta' }, 'meta is not a map');
  checkPlain(doc.config, 'config', 0, loc);
  checkPlain(doc.meta, 'meta', 0, loc);
  if (!Array.isArray(doc.tensors)) throw new FormatError('E_SYNTAX', { ...loc, field: 'tensors' }, 'tensors is not an array');

  const tensors = new Map<string, Tensor>();
  doc.tensors.forEach((e: unknown, i: number) => {
    const where = `tensors[${i}]`;
    const at = (f?: string): FormatLoc => ({ ...loc, field: f ? `${where}.${f}` : where });
    if (!isObj(e)) throw new FormatError('E_SYNTAX', at(), 'entry is not a map');
    const k = Object.keys(e).sort().join(',');
    if (k !== 'bytes,checksum,data,dtype,name,shape') throw new FormatError('E_SYNTAX', at(), `entry keys must be bytes, checksum, data, dtype, name, shape; got ${k}`);
    const name = e.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) throw new FormatError('E_NAME', at('name'), `name must be a string of 1-${MAX_NAME} characters`);
    const tl = { ...loc, field: name };
    if (tensors.has(name)) throw new FormatError('E_DUPLICATE_KEY', tl, `tensor '${name}' appears twice`);
    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) throw new FormatError('E_DTYPE', tl, `dtype ${JSON.stringify(dtype)} is not one of ${DTYPES.join(' ')}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FormatError('E_SHAPE', tl, `shape must be up to ${MAX_RANK} non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const numel = safeNumel(shape as number[]);
    if (numel < 0) throw new FormatError('E_SHAPE', tl, `shape ${JSON.stringify(shape)} overflows`);
    const want = byteLength(dtype as DType, numel);
    if (e.bytes !== want) throw new FormatError('E_BYTECOUNT', tl, `${dtype} ${JSON.stringify(shape)} needs ${want} bytes, entry says ${String(e.bytes)}`);
    const data = e.data;
    if (!(data instanceof Uint8Array) || data.length !== want) {
      throw new FormatError('E_BYTECOUNT', tl, `data holds ${data instanceof Uint8Array ? data.length : typeof data} bytes, ${want} expected`);
    }
    if (typeof e.checksum !== 'number' || crc32(data) !== e.checksum) {
      throw new FormatError('E_CHECKSUM', tl, `CRC-32 of data 0x${crc32(data).toString(16)} != recorded ${String(e.checksum)}`);
    }
    if ((dtype === 'i4' || dtype === 'u4') && numel % 2 === 1 && data[want - 1] >> 4 !== 0) {
      throw new FormatError('E_BYTECOUNT', tl, 'packed 4-bit tensor with an odd count has a non-zero padding nibble');
    }
    budget.take(want, tl, 'tensor storage');
    const t = new Tensor(dtype as DType, shape as number[]);
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).set(data);
    if (!opts.allowNonFinite) checkFinite(name, t, loc);
    tensors.set(name, t);
  });
  const config = doc.config as Record<string, PlainData>;
  if (opts.checkConfig !== false) checkConfig(asWeightConfig(config, { ...loc, field: 'config' }), tensors, loc);
  return { config, tensors, meta: doc.meta as Record<string, PlainData> };
}
