/**
 * PyTorch checkpoints written by torch.save (zip format, torch >= 1.6).
 *
 *   <prefix>/data.pkl         protocol-2 pickle; storages are persistent ids
 *                             ('storage', torch.FloatStorage, '<key>', '<location>', numel)
 *   <prefix>/data/<key>       raw little-endian storage bytes (one record per storage)
 *   <prefix>/byteorder        'little' | 'big' (torch 2.x; absent = little)
 *   <prefix>/version, .format_version, .storage_alignment, .data/serialization_id (ignored)
 *
 * `<prefix>` is whatever the first entry starts with (the file's basename for torch.save to a
 * path, "archive" for a buffer); every entry must share it. TorchScript archives
 * (constants.pkl) and legacy pre-1.6 files are refused with a remedy.
 *
 * The pickle is interpreted by ./pickle.ts (nothing is ever called). The resulting object is
 * walked like `state_dict()`: dicts by key, pickled nn.Modules through their `_parameters`,
 * persistent `_buffers` and `_modules`; plain tensor attributes of modules (e.g. DINO-WM's
 * attention mask) are kept apart as extras; other objects (optimizers, accelerate state,
 * devices) are listed as skipped. Tensors are materialized lazily, so an optimizer's moments
 * are never read. Views honour storage offset and strides (copied to contiguous) and are checked
 * to lie inside their storage.
 */
import { Tensor } from '../tensor/tensor.js';
import { AllocBudget, budgetFor, f16ToNumber, utf8, type ReadOptions } from './bytes.js';
import { FormatError, type FormatLoc } from './errors.js';
import {
  PyDict,
  PyGlobal,
  PyList,
  PyObject,
  PySet,
  PyTuple,
  STORAGE_DTYPES,
  TORCH_ELEMENT_SIZE,
  TorchStorage,
  TorchTensorRef,
  typeName,
  unpickle,
  type PyValue,
  type TorchDType,
} from './pickle.js';
import { refuseNonModel } from './sniff.js';
import { checkFinite, safeNumel, type TensorInfo } from './tensors.js';
import { ZipArchive } from './zip.js';

export interface TorchReadOptions extends ReadOptions {
  /** refuse any global outside the weights_only allowlist (no placeholder objects) */
  strictGlobals?: boolean;
  /** cap on data.pkl (default 16 MiB; DINO-WM checkpoints hold ~100 KB) */
  maxPickleBytes?: number;
}

export interface Skipped {
  path: string;
  type: string;
}

const MAX_WALK_DEPTH = 64;

/** The allocation bound of the torch reader for a file of `fileSize` bytes whose deflated entries declare `inflated` bytes. */
export function torchAllocBound(fileSize: number, inflated = 0): number {
  return 4 * (fileSize + inflated) + (1 << 20);
}

/** An opened checkpoint: the object graph, the tensors found in it (not yet read), and a reader. */
export class TorchCheckpoint {
  /** state_dict-style name -> tensor view, in state_dict order */
  readonly refs = new Map<string, TorchTensorRef>();
  /** plain tensor attributes of pickled modules (not in their state_dict) */
  readonly extras = new Map<string, TorchTensorRef>();
  /** objects not walked (optimizers, unknown non-module classes) */
  readonly skipped: Skipped[] = [];
  private readonly cache = new Map<TorchTensorRef, Tensor>();
  private readonly records = new Map<string, Uint8Array>();

  constructor(
    readonly root: PyValue,
    readonly zip: ZipArchive,
    readonly prefix: string,
    readonly byteorder: 'little' | 'big',
    /** every global the pickle names, "module.name" */
    readonly globals: string[],
    readonly loc: FormatLoc,
    private readonly budget: AllocBudget,
    private readonly allowNonFinite: boolean,
  ) {
    this.walk(root, '', 0, new Set());
  }

  private walk(v: PyValue, path: string, depth: number, seen: Set<object>): void {
    if (v === null || typeof v !== 'object') return;
    if (depth > MAX_WALK_DEPTH) throw new FormatError('E_LIMIT', { ...this.loc, field: path }, `object nesting deeper than ${MAX_WALK_DEPTH}`);
    if (v instanceof TorchTensorRef) {
      this.addRef(this.refs, path, v);
      return;
    }
    if (seen.has(v)) return;
    seen.add(v);
    const join = (k: string): string => (path ? `${path}.${k}` : k);
    if (v instanceof PyDict) {
      for (const [k, x] of v.map) if (typeof k === 'string' || typeof k === 'number') this.walk(x, join(String(k)), depth + 1, seen);
    } else if (v instanceof PyList || v instanceof PyTuple) {
      v.items.forEach((x, i) => this.walk(x, join(String(i)), depth + 1, seen));
    } else if (v instanceof PyObject) {
      const d = v.dict;
      if (d && (d.map.has('_parameters') || d.map.has('_modules'))) this.walkModule(v, d, path, depth, seen);
      else this.skipped.push({ path: path || '<root>', type: v.cls.qualname });
    }
  }

  private walkModule(obj: PyObject, d: PyDict, path: string, depth: number, seen: Set<object>): void {
    const join = (k: string): string => (path ? `${path}.${k}` : k);
    const at = (k: string): FormatLoc => ({ ...this.loc, field: join(k) });
    const dictOf = (k: string): PyDict | undefined => {
      const x = d.map.get(k);
      if (x === undefined || x === null) return undefined;
      if (!(x instanceof PyDict)) throw new FormatError('E_SYNTAX', at(k), `${obj.cls.qualname}.${k} is ${typeName(x)}, not a dict`);
      return x;
    };
    const nonPersistent = new Set<string>();
    const np = d.map.get('_non_persistent_buffers_set');
    if (np instanceof PySet) for (const s of np.items) if (typeof s === 'string') nonPersistent.add(s);
    for (const [section, keep] of [
      ['_parameters', (_k: string) => true],
      ['_buffers', (k: string) => !nonPersistent.has(k)],
    ] as const) {
      const sd = dictOf(section);
      if (!sd) continue;
      for (const [k, x] of sd.map) {
        if (typeof k !== 'string' || x === null || !keep(k)) continue;
        if (!(x instanceof TorchTensorRef)) throw new FormatError('E_SYNTAX', at(k), `${section} entry is ${typeName(x)}, not a tensor`);
        this.addRef(this.refs, join(k), x);
      }
    }
    for (const [k, x] of d.map) {
      if (typeof k === 'string' && !k.startsWith('_') && x instanceof TorchTensorRef) this.addRef(this.extras, join(k), x);
    }
    const mods = dictOf('_modules');
    if (mods) {
      for (const [k, x] of mods.map) {
        if (typeof k !== 'string' || x === null) continue;
        if (!(x instanceof PyObject)) throw new FormatError('E_SYNTAX', at(k), `_modules entry is ${typeName(x)}, not a module`);
        if (depth + 1 > MAX_WALK_DEPTH) throw new FormatError('E_LIMIT', at(k), `module nesting deeper than ${MAX_WALK_DEPTH}`);
        if (seen.has(x)) continue;
        seen.add(x);
        const sub = x.dict;
        if (!sub) throw new FormatError('E_SYNTAX', at(k), `module ${x.cls.qualname} has no state`);
        this.walkModule(x, sub, join(k), depth + 1, seen);
      }
    }
  }

  private addRef(map: Map<string, TorchTensorRef>, path: string, r: TorchTensorRef): void {
    const name = path || '<root>';
    if (this.refs.has(name) || this.extras.has(name)) throw new FormatError('E_DUPLICATE_KEY', { ...this.loc, field: name }, 'two tensors share this name');
    map.set(name, r);
  }

  /** Listing of state tensors and extras, without reading any tensor bytes. */
  info(): TensorInfo[] {
    const row = (name: string, r: TorchTensorRef, role: 'state' | 'extra'): TensorInfo => {
      const numel = safeNumel(r.size);
      return { name, dtype: r.storage.dtype, shape: r.size.slice(), numel, bytes: numel * TORCH_ELEMENT_SIZE[r.storage.dtype], role };
    };
    return [...[...this.refs].map(([n, r]) => row(n, r, 'state')), ...[...this.extras].map(([n, r]) => row(n, r, 'extra'))];
  }

  /** Read one tensor (by name in `refs` or `extras`) into a contiguous Tensor (f32 / i32 / i8 / u8). */
  tensor(name: string): Tensor {
    const r = this.refs.get(name) ?? this.extras.get(name);
    if (!r) throw new FormatError('E_NAME', { ...this.loc, field: name }, 'no such tensor in the checkpoint');
    let t = this.cache.get(r);
    if (!t) {
      t = this.materialize(r, { ...this.loc, field: name });
      if (!this.allowNonFinite && this.refs.has(name)) checkFinite(name, t, this.loc);
      this.cache.set(r, t);
    }
    return t;
  }

  /** Every state tensor, read. */
  tensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const name of this.refs.keys()) out.set(name, this.tensor(name));
    return out;
  }

  private materialize(r: TorchTensorRef, loc: FormatLoc): Tensor {
    const s = r.storage;
    const esize = TORCH_ELEMENT_SIZE[s.dtype];
    const { size, stride, offset } = r;
    if (size.length > 16) throw new FormatError('E_SHAPE', loc, `rank ${size.length} above 16`);
    for (let i = 0; i < size.length; i++) {
      if (size[i] < 0 || stride[i] < 0) throw new FormatError('E_SHAPE', loc, `negative size or stride (size [${size}], stride [${stride}])`);
    }
    const numel = safeNumel(size);
    if (numel < 0) throw new FormatError('E_SHAPE', loc, `size [${size}] overflows`);
    if (offset < 0) throw new FormatError('E_BYTECOUNT', loc, `negative storage offset ${offset}`);
    if (numel > 0) {
      let last = offset;
      for (let i = 0; i < size.length; i++) last += (size[i] - 1) * stride[i];
      if (!Number.isSafeInteger(last) || last >= s.numel) {
        throw new FormatError('E_BYTECOUNT', loc, `view (offset ${offset}, size [${size}], stride [${stride}]) reaches element ${last} of a storage of ${s.numel}`);
      }
    }
    let rec = this.records.get(s.key);
    if (!rec) {
      // read (and CRC-check) each storage record once, however many tensors view it
      rec = this.zip.read(`${this.prefix}/data/${s.key}`, this.budget);
      this.records.set(s.key, rec);
    }
    const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    const le = this.byteorder === 'little';
    const outDType = s.dtype.startsWith('float') || s.dtype === 'bfloat16' ? 'f32' : s.dtype === 'int8' ? 'i8' : s.dtype === 'uint8' || s.dtype === 'bool' ? 'u8' : 'i32';
    const outBytes = outDType === 'f32' || outDType === 'i32' ? 4 * numel : numel;
    this.budget.take(outBytes, loc, 'tensor');
    const t = new Tensor(outDType, size);
    const out = t.data;
    // Fast path: a contiguous little-endian view whose element type is stored unchanged.
    let contiguous = true;
    for (let d = size.length - 1, want = 1; d >= 0; d--) {
      if (size[d] !== 1 && stride[d] !== want) contiguous = false;
      want *= size[d];
    }
    const same = (s.dtype === 'float32' && outDType === 'f32') || (s.dtype === 'int32' && outDType === 'i32') || s.dtype === 'int8' || s.dtype === 'uint8';
    if (contiguous && same && (le || esize === 1)) {
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(rec.subarray(offset * esize, (offset + numel) * esize));
      return t;
    }
    const get = elementReader(s.dtype, view, le, loc);
    // Walk the view in row-major order with an odometer over the dims.
    const nd = size.length;
    const idx = new Array<number>(nd).fill(0);
    let src = offset;
    for (let i = 0; i < numel; i++) {
      out[i] = get(src * esize);
      for (let d = nd - 1; d >= 0; d--) {
        idx[d]++;
        src += stride[d];
        if (idx[d] < size[d]) break;
        src -= stride[d] * size[d];
        idx[d] = 0;
      }
    }
    return t;
  }
}

function elementReader(dtype: TorchDType, v: DataView, le: boolean, loc: FormatLoc): (byteOff: number) => number {
  switch (dtype) {
    case 'float32':
      return (o) => v.getFloat32(o, le);
    case 'float64':
      return (o) => v.getFloat64(o, le);
    case 'float16':
      return (o) => f16ToNumber(v.getUint16(o, le));
    case 'bfloat16': {
      const tmp = new DataView(new ArrayBuffer(4));
      return (o) => {
        tmp.setUint32(0, v.getUint16(o, le) << 16);
        return tmp.getFloat32(0);
      };
    }
    case 'int64':
      return (o) => {
        const lo = v.getUint32(le ? o : o + 4, le);
        const hi = v.getInt32(le ? o + 4 : o, le);
        if (!((hi === 0 && lo < 0x80000000) || (hi === -1 && lo >= 0x80000000))) {
          throw new FormatError('E_DTYPE', loc, `int64 value ${hi * 2 ** 32 + lo} does not fit i32`);
        }
        return lo | 0;
      };
    case 'int32':
      return (o) => v.getInt32(o, le);
    case 'int16':
      return (o) => v.getInt16(o, le);
    case 'int8':
      return (o) => v.getInt8(o);
    case 'uint8':
      return (o) => v.getUint8(o);
    case 'bool':
      return (o) => {
        const b = v.getUint8(o);
        if (b > 1) throw new FormatError('E_DTYPE', loc, `bool byte ${b} is not 0 or 1`);
        return b;
      };
  }
}

/** Open a torch.save zip: validate the archive, scan and interpret data.pkl, walk the object graph. */
export function openTorch(bytes: Uint8Array, opts: TorchReadOptions = {}): TorchCheckpoint {
  const loc: FormatLoc = { file: opts.file ?? '<pth>' };
  refuseNonModel(bytes, loc);
  const zip = ZipArchive.open(bytes, loc);
  const budget = budgetFor(opts, torchAllocBound(bytes.length, zip.inflatedBytes));
  if (zip.names.length === 0) throw new FormatError('E_SYNTAX', loc, 'empty zip archive');
  const first = zip.names[0];
  const slash = first.indexOf('/');
  if (slash <= 0) throw new FormatError('E_SYNTAX', { ...loc, field: first }, 'torch archive entries must live under one top-level folder');
  const prefix = first.slice(0, slash);
  for (const n of zip.names) {
    if (!n.startsWith(`${prefix}/`)) throw new FormatError('E_SYNTAX', { ...loc, field: n }, `entry outside the archive folder '${prefix}/'`);
  }
  if (zip.has(`${prefix}/constants.pkl`)) {
    throw new FormatError('E_UNSUPPORTED_FORMAT', loc, 'TorchScript archive (torch.jit.save): export a state_dict with torch.save instead');
  }
  const pklName = `${prefix}/data.pkl`;
  const pe = zip.entries.get(pklName);
  if (!pe) throw new FormatError('E_SYNTAX', { ...loc, field: pklName }, 'no data.pkl: not a torch.save archive');
  const maxPkl = opts.maxPickleBytes ?? 16 * 1024 * 1024;
  if (pe.size > maxPkl) throw new FormatError('E_HEADER_TOO_LARGE', { ...loc, field: pklName }, `data.pkl of ${pe.size} bytes exceeds the cap of ${maxPkl}`);
  let byteorder: 'little' | 'big' = 'little';
  const boName = `${prefix}/byteorder`;
  if (zip.has(boName)) {
    const bo = utf8(zip.read(boName, budget), { ...loc, field: boName }).trim();
    if (bo !== 'little' && bo !== 'big') throw new FormatError('E_ENDIANNESS', { ...loc, field: boName }, `byteorder '${bo.slice(0, 16)}' (expected little or big)`);
    byteorder = bo;
  }
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: PyTuple, at: FormatLoc): PyValue => {
    const [, type, key, location, numel] = pid.items;
    if (pid.items.length !== 5) throw new FormatError('E_SYNTAX', at, `storage id has ${pid.items.length} fields, expected 5`);
    if (!(type instanceof PyGlobal)) throw new FormatError('E_SYNTAX', at, `storage type is ${typeName(type)}`);
    const dtype = STORAGE_DTYPES[type.qualname];
    if (!dtype) throw new FormatError('E_DTYPE', at, `storage type ${type.qualname} is not supported`);
    if (typeof key !== 'string' || typeof location !== 'string') throw new FormatError('E_SYNTAX', at, 'storage key and location must be strings');
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new FormatError('E_SYNTAX', at, `storage numel ${String(numel)}`);
    const prev = storages.get(key);
    if (prev) {
      if (prev.dtype !== dtype || prev.numel !== numel) throw new FormatError('E_DTYPE', { ...at, field: key }, `storage '${key}' referenced as ${prev.numel} ${prev.dtype} and ${numel} ${dtype}`);
      return prev;
    }
    const rec = zip.entries.get(`${prefix}/data/${key}`);
    if (!rec) throw new FormatError('E_NAME', { ...at, field: `${prefix}/data/${key}` }, 'storage record missing from the archive');
    const want = numel * TORCH_ELEMENT_SIZE[dtype];
    if (rec.size !== want) throw new FormatError('E_BYTECOUNT', { ...at, field: rec.name }, `storage of ${numel} ${dtype} needs ${want} bytes, record holds ${rec.size}`);
    const s = new TorchStorage(key, dtype, location, numel);
    storages.set(key, s);
    return s;
  };
  const pkl = zip.read(pklName, budget);
  const { value, globals } = unpickle(pkl, { ...loc, field: pklName }, { persistentLoad, strictGlobals: opts.strictGlobals, budget });
  return new TorchCheckpoint(value, zip, prefix, byteorder, globals, loc, budget, opts.allowNonFinite ?? false);
}

export interface TorchFile {
  tensors: Map<string, Tensor>;
  extras: Map<string, Tensor>;
  info: TensorInfo[];
  skipped: Skipped[];
  globals: string[];
}

/** Open and read every state tensor and extra. */
export function readTorch(bytes: Uint8Array, opts: TorchReadOptions = {}): TorchFile {
  const ck = openTorch(bytes, opts);
  const extras = new Map<string, Tensor>();
  for (const n of ck.extras.keys()) extras.set(n, ck.tensor(n));
  return { tensors: ck.tensors(), extras, info: ck.info(), skipped: ck.skipped, globals: ck.globals };
}
