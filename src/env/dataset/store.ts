/**
 * Dataset file format `.qwmd` (quantwm dataset; `quantwm data gen` writes DIR/dataset.qwmd), version 1.
 * Little-endian throughout.
 *
 *   offset 0   8 bytes   magic "QWMDSET\x01"
 *   offset 8   u32       H = header length
 *   offset 12  H bytes   header, msgpack (fields below)
 *   12 + H     u32       CRC-32 of the header bytes
 *   16 + H     payload   compressed chunks, back to back
 *
 * Header: { format: "quantwm-dataset", version: 1, env, envParams, generator, stateDim,
 *   actionDim, proprioDim, lengths: int[episodes], stats, info, payloadBytes,
 *   arrays: { states | actions | proprio: { dtype: "f32", cols, rows, filter: "none",
 *     chunks: [{ offset, bytes, rows, crc32, zcrc32 }] } } }
 * A chunk holds the rows of a group of consecutive episodes: the float32 little-endian bytes,
 * deflated (raw DEFLATE, fflate). `zcrc32` is over the compressed bytes (so even a flip in
 * DEFLATE padding bits, which would inflate to the same data, is reported) and `crc32` over the
 * uncompressed bytes. (A 4-byte shuffle
 * filter was measured: 1.5 % smaller at half the speed, so none is used.) The reader checks the file length against the header before
 * reading any chunk (a cut file is an error, never shorter data), then every chunk's offset,
 * decompressed size and CRC.
 */
import { decode, encode } from '@msgpack/msgpack';
import { deflateSync, inflateSync } from 'fflate';
import { crc32 } from '../crc32.js';
import { DatasetFormatError } from '../errors.js';
import { ENV_NAMES, type EnvName } from '../types.js';
import { Dataset, type GeneratorInfo, type MeanStd, type NormStats } from './dataset.js';

export const DATASET_MAGIC = [0x51, 0x57, 0x4d, 0x44, 0x53, 0x45, 0x54, 0x01]; // "QWMDSET\x01"
export const DATASET_FORMAT = 'quantwm-dataset';
export const DATASET_VERSION = 1;
const WHERE = 'dataset file';
const HOST_LE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** Largest DEFLATE expansion (258-byte matches coded in 2 bits): bounds sizes before allocating. */
const MAX_INFLATE_RATIO = 1032;

interface ChunkInfo {
  offset: number;
  bytes: number;
  rows: number;
  /** CRC-32 of the uncompressed float32 bytes */
  crc32: number;
  /** CRC-32 of the compressed bytes: catches flips that DEFLATE would ignore (padding bits) */
  zcrc32: number;
}
interface ArrayInfo {
  dtype: 'f32';
  cols: number;
  rows: number;
  filter: 'none';
  chunks: ChunkInfo[];
}
type ArrayName = 'states' | 'actions' | 'proprio';
const ARRAYS: readonly ArrayName[] = ['states', 'actions', 'proprio'];

/** float32 values -> little-endian bytes (a view on little-endian hosts). */
function leBytes(v: Float32Array): Uint8Array {
  if (HOST_LE) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setFloat32(4 * i, v[i], true);
  return out;
}

/** little-endian bytes -> float32 values (copied, so the result is aligned). */
function fromLeBytes(b: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  if (HOST_LE) new Uint8Array(out.buffer).set(b.subarray(0, n * 4));
  else {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  }
  return out;
}

export interface EncodeOptions {
  /** episodes per chunk (default 64) */
  episodesPerChunk?: number;
  /** deflate level 0..9 (default 1: simulated float data shrinks to 78-89 % at every level; 1 encodes fastest) */
  level?: number;
}

/** Serialise a dataset into `.qwmd` bytes. Deterministic: same dataset, same bytes. */
export function encodeDataset(ds: Dataset, opts: EncodeOptions = {}): Uint8Array {
  const per = opts.episodesPerChunk ?? 64;
  const level = (opts.level ?? 1) as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  const payload: Uint8Array[] = [];
  let offset = 0;
  const arrays = {} as Record<ArrayName, ArrayInfo>;
  for (const name of ARRAYS) {
    const cols = name === 'states' ? ds.stateDim : name === 'actions' ? ds.actionDim : ds.proprioDim;
    const rowIndex = name === 'actions' ? ds.actionRow : ds.stateRow;
    const data = ds[name];
    const chunks: ChunkInfo[] = [];
    for (let k0 = 0; k0 < ds.episodes; k0 += per) {
      const k1 = Math.min(ds.episodes, k0 + per);
      const rows = rowIndex[k1] - rowIndex[k0];
      const part = data.subarray(rowIndex[k0] * cols, rowIndex[k1] * cols);
      const raw = leBytes(part);
      const z = deflateSync(raw, { level });
      chunks.push({ offset, bytes: z.length, rows, crc32: crc32(raw), zcrc32: crc32(z) });
      payload.push(z);
      offset += z.length;
    }
    arrays[name] = { dtype: 'f32', cols, rows: rowIndex[ds.episodes], filter: 'none', chunks };
  }
  const header = {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    env: ds.env,
    envParams: { ...ds.envParams },
    generator: ds.generator,
    stateDim: ds.stateDim,
    actionDim: ds.actionDim,
    proprioDim: ds.proprioDim,
    lengths: Array.from(ds.lengths),
    stats: ds.stats,
    info: { ...ds.info },
    payloadBytes: offset,
    arrays,
  };
  const h = encode(header);
  const out = new Uint8Array(16 + h.length + offset);
  out.set(DATASET_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, h.length, true);
  out.set(h, 12);
  dv.setUint32(12 + h.length, crc32(h), true);
  let o = 16 + h.length;
  for (const z of payload) {
    out.set(z, o);
    o += z.length;
  }
  return out;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
function int(v: unknown, what: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new DatasetFormatError(WHERE, `header field ${what} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  return v;
}
function finiteArray(v: unknown, n: number, what: string): number[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new DatasetFormatError(WHERE, `header field ${what} must be ${n} finite numbers`);
  }
  return v as number[];
}
function numRecord(v: unknown, what: string): Record<string, number> {
  if (!isObj(v)) throw new DatasetFormatError(WHERE, `header field ${what} must be a map`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'number' || !Number.isFinite(x)) throw new DatasetFormatError(WHERE, `header field ${what}.${k} must be a finite number`);
  return v as Record<string, number>;
}
function meanStdField(v: unknown, n: number, what: string): MeanStd {
  if (!isObj(v)) throw new DatasetFormatError(WHERE, `header field ${what} must be a map`);
  return { mean: finiteArray(v.mean, n, `${what}.mean`), std: finiteArray(v.std, n, `${what}.std`) };
}

/** Parse `.qwmd` bytes. Throws DatasetFormatError (or UnknownEnvError) naming what is wrong. */
export function decodeDataset(bytes: Uint8Array): Dataset {
  if (!(bytes instanceof Uint8Array)) throw new DatasetFormatError(WHERE, 'expected a Uint8Array');
  if (bytes.length < 16) throw new DatasetFormatError(WHERE, `file is ${bytes.length} bytes, shorter than the 16-byte frame`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== DATASET_MAGIC[i]) throw new DatasetFormatError(WHERE, 'bad magic: not a quantwm dataset (.qwmd)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = dv.getUint32(8, true);
  if (16 + hlen > bytes.length) throw new DatasetFormatError(WHERE, `truncated: header length ${hlen} needs ${16 + hlen} bytes, file has ${bytes.length}`);
  const hbytes = bytes.subarray(12, 12 + hlen);
  if (crc32(hbytes) !== dv.getUint32(12 + hlen, true)) throw new DatasetFormatError(WHERE, 'header CRC mismatch (corrupt header)');
  let h: unknown;
  try {
    h = decode(hbytes);
  } catch (e) {
    throw new DatasetFormatError(WHERE, `header is not valid msgpack: ${(e as Error).message}`);
  }
  if (!isObj(h)) throw new DatasetFormatError(WHERE, 'header is not a map');
  if (h.format !== DATASET_FORMAT) throw new DatasetFormatError(WHERE, `format is '${String(h.format)}', expected '${DATASET_FORMAT}'`);
  if (h.version !== DATASET_VERSION) throw new DatasetFormatError(WHERE, `version ${String(h.version)} is not supported (expected ${DATASET_VERSION})`);
  if (typeof h.env !== 'string' || !ENV_NAMES.includes(h.env as EnvName)) throw new DatasetFormatError(WHERE, `unknown env '${String(h.env)}'`);
  const env = h.env as EnvName;
  const stateDim = int(h.stateDim, 'stateDim', 1, 1024);
  const actionDim = int(h.actionDim, 'actionDim', 1, 1024);
  const proprioDim = int(h.proprioDim, 'proprioDim', 1, 1024);
  if (!Array.isArray(h.lengths)) throw new DatasetFormatError(WHERE, 'header field lengths must be an array');
  const lengths = Int32Array.from(h.lengths.map((v, i) => int(v, `lengths[${i}]`, 0, 1e7)));
  const payloadBytes = int(h.payloadBytes, 'payloadBytes', 0, Number.MAX_SAFE_INTEGER);
  const expected = 16 + hlen + payloadBytes;
  if (bytes.length < expected) throw new DatasetFormatError(WHERE, `truncated: header says ${expected} bytes, file has ${bytes.length}`);
  if (bytes.length > expected) throw new DatasetFormatError(WHERE, `${bytes.length - expected} trailing bytes after the payload (header says ${expected} bytes)`);
  let stateRows = 0;
  let actionRows = 0;
  for (const L of lengths) {
    stateRows += L + 1;
    actionRows += L;
  }
  if (!isObj(h.arrays)) throw new DatasetFormatError(WHERE, 'header field arrays must be a map');
  const payload = bytes.subarray(16 + hlen);
  const read = (name: ArrayName, cols: number, rows: number): Float32Array => {
    const a = (h as { arrays: Record<string, unknown> }).arrays[name];
    if (!isObj(a)) throw new DatasetFormatError(WHERE, `array ${name} missing`);
    if (a.dtype !== 'f32' || a.filter !== 'none') throw new DatasetFormatError(WHERE, `array ${name}: unsupported dtype/filter ${String(a.dtype)}/${String(a.filter)}`);
    if (a.cols !== cols || a.rows !== rows) throw new DatasetFormatError(WHERE, `array ${name} is (${String(a.rows)}, ${String(a.cols)}), lengths imply (${rows}, ${cols})`);
    if (!Array.isArray(a.chunks)) throw new DatasetFormatError(WHERE, `array ${name}: chunks must be an array`);
    // DEFLATE expands at most 1032:1, so the payload bounds the array before we allocate it
    if (rows * cols * 4 > MAX_INFLATE_RATIO * payloadBytes + 1024) {
      throw new DatasetFormatError(WHERE, `array ${name} needs ${rows * cols * 4} bytes, more than ${payloadBytes} compressed payload bytes can hold`);
    }
    const out = new Float32Array(rows * cols);
    let row = 0;
    a.chunks.forEach((c: unknown, i: number) => {
      if (!isObj(c)) throw new DatasetFormatError(WHERE, `array ${name} chunk ${i} is not a map`);
      const off = int(c.offset, `${name}.chunks[${i}].offset`, 0, payloadBytes);
      const len = int(c.bytes, `${name}.chunks[${i}].bytes`, 0, payloadBytes - off);
      const crows = int(c.rows, `${name}.chunks[${i}].rows`, 0, rows - row);
      const n = crows * cols;
      const z = payload.subarray(off, off + len);
      if (crc32(z) !== c.zcrc32) throw new DatasetFormatError(WHERE, `array ${name} chunk ${i}: CRC mismatch of the compressed bytes (corrupt data)`);
      let raw: Uint8Array;
      try {
        raw = inflateSync(z, { out: new Uint8Array(n * 4) });
      } catch (e) {
        throw new DatasetFormatError(WHERE, `array ${name} chunk ${i}: corrupt compressed data (${(e as Error).message})`);
      }
      if (raw.length !== n * 4) throw new DatasetFormatError(WHERE, `array ${name} chunk ${i}: ${raw.length} bytes after inflate, expected ${n * 4}`);
      if (crc32(raw) !== c.crc32) throw new DatasetFormatError(WHERE, `array ${name} chunk ${i}: CRC mismatch (corrupt data)`);
      out.set(fromLeBytes(raw, n), row * cols);
      row += crows;
    });
    if (row !== rows) throw new DatasetFormatError(WHERE, `array ${name}: chunks hold ${row} rows, expected ${rows}`);
    return out;
  };
  const states = read('states', stateDim, stateRows);
  const actions = read('actions', actionDim, actionRows);
  const proprio = read('proprio', proprioDim, stateRows);
  if (!isObj(h.stats)) throw new DatasetFormatError(WHERE, 'header field stats must be a map');
  const stats: NormStats = {
    action: meanStdField(h.stats.action, actionDim, 'stats.action'),
    proprio: meanStdField(h.stats.proprio, proprioDim, 'stats.proprio'),
    state: meanStdField(h.stats.state, stateDim, 'stats.state'),
  };
  const g = h.generator;
  if (!isObj(g) || typeof g.name !== 'string' || typeof g.policy !== 'string' || !isObj(g.options)) throw new DatasetFormatError(WHERE, 'header field generator is malformed');
  const generator: GeneratorInfo = {
    name: g.name,
    version: int(g.version, 'generator.version', 0, 1e9),
    seed: int(g.seed, 'generator.seed', -(2 ** 53), 2 ** 53),
    policy: g.policy,
    options: g.options as Record<string, number | string>,
  };
  return new Dataset({
    env,
    envParams: numRecord(h.envParams, 'envParams'),
    generator,
    stateDim,
    actionDim,
    proprioDim,
    lengths,
    states,
    actions,
    proprio,
    stats,
    info: numRecord(h.info ?? {}, 'info'),
  });
}
