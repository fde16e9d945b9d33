/**
 * A pickle VM that never calls anything.
 *
 * GLOBAL/STACK_GLOBAL push a symbolic `PyGlobal`; no import ever happens. REDUCE and NEWOBJ
 * interpret the few callables torch.save emits (the torch.load(weights_only=True) allowlist:
 * OrderedDict, defaultdict, set, _codecs.encode, torch.Size, torch._utils._rebuild_tensor*,
 * _rebuild_parameter*, _rebuild_from_type_v2) and turn every other call into an inert
 * `PyObject` (module, class, args; BUILD state, appended items and set items recorded) so that
 * whole pickled nn.Modules and optimizers can be walked for their tensors. Storages come from
 * BINPERSID through a caller-supplied `persistentLoad`.
 *
 * Before interpreting, `scanPickle` walks the opcodes once: unknown or unsupported opcodes are
 * refused, and globals that only appear in exploit payloads (os.system, builtins.eval, ...) are
 * refused with an UnsafePickleError that names all of them. The VM re-checks every global it
 * resolves (STACK_GLOBAL names can come from the memo).
 *
 * `builtins.getattr` is the one exception to name-based refusal: Python >= 3.11 pickles enum
 * members of str/int mixins (e.g. accelerate's DistributedType inside DINO-WM optimizers) as
 * getattr(<class>, '<NAME>'). Exactly that form (a non-dangerous class global and an identifier)
 * becomes an inert placeholder; any other use of getattr, and calling anything that is not a
 * global (such as a getattr result), is refused with UnsafePickleError.
 *
 * Structural rules (CVE-2026-24747 class): SETITEM(S) only on dicts and placeholder objects,
 * APPEND(S) only on lists and placeholder objects, ADDITEMS only on sets, BUILD only on
 * objects/dicts/tensors, BINPERSID only for ('storage', ...) tuples, every read bounds-checked,
 * memo references shared (never copied). Memory is O(pickle length): every opcode is >= 1 byte
 * and pushes at most one value; strings are bounded by the bytes left; LONG is capped at 64 bytes.
 */
import { AllocBudget, Cursor, utf8 } from './bytes.js';
import { FormatError, UnsafePickleError, type FormatLoc } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Values

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyBytes
  | PyTuple
  | PyList
  | PyDict
  | PySet
  | PyGlobal
  | PyObject
  | TorchStorage
  | TorchTensorRef;

export class PyBytes {
  constructor(readonly data: Uint8Array) {}
}
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}
/** dict, collections.OrderedDict / defaultdict / Counter. Keys may be objects (identity). */
export class PyDict {
  readonly map = new Map<PyValue, PyValue>();
  /** instance __dict__ set by BUILD (e.g. a state_dict's `_metadata`) */
  attrs: PyValue | undefined;
  constructor(
    readonly cls: string,
    readonly factory: PyValue = null,
  ) {}
}
export class PySet {
  readonly items: PyValue[] = [];
  constructor(readonly frozen: boolean) {}
}
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}
/** An instance of a class the reader does not interpret: inert data only. */
export class PyObject {
  state: PyValue | undefined;
  readonly listItems: PyValue[] = [];
  readonly dictItems = new Map<PyValue, PyValue>();
  constructor(
    readonly cls: PyGlobal,
    readonly args: PyValue[],
    readonly via: 'newobj' | 'reduce' | 'getattr',
  ) {}
  /** `__dict__` entries when the BUILD state is a dict (or a (dict, slots) tuple). */
  get dict(): PyDict | undefined {
    const s = this.state;
    if (s instanceof PyDict) return s;
    if (s instanceof PyTuple && s.items[0] instanceof PyDict) return s.items[0];
    return undefined;
  }
}

export type TorchDType = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const TORCH_ELEMENT_SIZE: Readonly<Record<TorchDType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** A storage record reference: `<prefix>/data/<key>`, `numel` elements of `dtype`. */
export class TorchStorage {
  constructor(
    readonly key: string,
    readonly dtype: TorchDType,
    readonly location: string,
    readonly numel: number,
  ) {}
}

/** A tensor view over a storage (not materialized). */
export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
    readonly parameter: boolean,
  ) {}
  get numel(): number {
    return this.size.reduce((a, b) => a * b, 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Globals

/** Storage classes -> dtype (legacy typed storages); UntypedStorage is raw bytes. */
export const STORAGE_DTYPES: Readonly<Record<string, TorchDType>> = {
  'torch.DoubleStorage': 'float64',
  'torch.FloatStorage': 'float32',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
  'torch.LongStorage': 'int64',
  'torch.IntStorage': 'int32',
  'torch.ShortStorage': 'int16',
  'torch.CharStorage': 'int8',
  'torch.ByteStorage': 'uint8',
  'torch.BoolStorage': 'bool',
  'torch.UntypedStorage': 'uint8',
  'torch.storage.UntypedStorage': 'uint8',
};

/** torch.<dtype> globals (as passed to _rebuild_tensor_v3). */
export const TORCH_DTYPES: Readonly<Record<string, TorchDType>> = {
  'torch.float64': 'float64',
  'torch.double': 'float64',
  'torch.float32': 'float32',
  'torch.float': 'float32',
  'torch.float16': 'float16',
  'torch.half': 'float16',
  'torch.bfloat16': 'bfloat16',
  'torch.int64': 'int64',
  'torch.long': 'int64',
  'torch.int32': 'int32',
  'torch.int': 'int32',
  'torch.int16': 'int16',
  'torch.short': 'int16',
  'torch.int8': 'int8',
  'torch.uint8': 'uint8',
  'torch.bool': 'bool',
};

/** Tensor kinds we recognise but cannot load (quantized, sparse, nested, meta, subclasses, devices). */
const UNSUPPORTED_REBUILDS = new Set([
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_sparse_csr_tensor',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor',
  'torch._utils._rebuild_xla_tensor',
  'torch._utils._rebuild_mps_tensor',
]);

/**
 * Globals that only appear in exploit payloads (after picklescan's list and fickling's
 * unsafe imports): whole modules (any attribute, any submodule) and single callables.
 */
const DANGEROUS_MODULES = [
  'os',
  'posix',
  'nt',
  'subprocess',
  'sys',
  'socket',
  'shutil',
  'runpy',
  'pty',
  'webbrowser',
  'importlib',
  'marshal',
  'pickle',
  '_pickle',
  'cPickle',
  'dill',
  'code',
  'codeop',
  'inspect',
  'ctypes',
  'bdb',
  'pdb',
  'asyncio',
  'multiprocessing',
  'signal',
  'venv',
  'pip',
  'timeit',
  'cProfile',
  'profile',
  'httplib',
  'http',
  'urllib',
  'urllib2',
  'requests',
  'aiohttp',
  'ftplib',
  'smtplib',
  'telnetlib',
  'commands',
  'popen2',
  'tempfile',
  'glob',
  'types',
  'sqlite3',
  'zipimport',
  '_io',
  'io',
];
const DANGEROUS_NAMES = new Set([
  'builtins.eval',
  'builtins.exec',
  'builtins.execfile',
  'builtins.compile',
  'builtins.open',
  'builtins.setattr',
  'builtins.delattr',
  'builtins.__import__',
  'builtins.apply',
  'builtins.breakpoint',
  'builtins.input',
  'builtins.globals',
  'builtins.locals',
  'builtins.vars',
  'builtins.memoryview',
  'builtins.type',
  'builtins.super',
  'builtins.help',
  'builtins.exit',
  'builtins.quit',
  'operator.attrgetter',
  'operator.methodcaller',
  'operator.itemgetter',
  'functools.partial',
  'functools.reduce',
  'pydoc.pipepager',
  'pydoc.locate',
  'torch.load',
  'torch.serialization.load',
  'torch.hub.load',
  'torch.hub.load_state_dict_from_url',
  'torch._inductor.codecache.compile_file',
  'torch.jit.load',
  'numpy.load',
  'numpy.testing._private.utils.runstring',
  'platform.popen',
  'platform.system',
]);

/** Python 2 / renamed module paths, as pickle's fix_imports maps them. */
function canonicalModule(m: string): string {
  if (m === '__builtin__') return 'builtins';
  if (m === 'copy_reg') return 'copyreg';
  if (m === 'torch.tensor') return 'torch._tensor';
  return m;
}

/** Is `module.name` a callable only exploit payloads use? */
export function isDangerousGlobal(module: string, name: string): boolean {
  const m = canonicalModule(module);
  if (DANGEROUS_NAMES.has(`${m}.${name}`)) return true;
  return DANGEROUS_MODULES.some((d) => m === d || m.startsWith(`${d}.`));
}

// ---------------------------------------------------------------------------------------------
// Opcodes

const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  BINFLOAT: 0x47,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  NONE: 0x4e,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  BINUNICODE: 0x58,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  APPENDS: 0x65,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  SETITEMS: 0x75,
  EMPTY_DICT: 0x7d,
  EMPTY_TUPLE: 0x29,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

/** Opcodes a pickle may contain but this reader refuses, with the reason. */
const REFUSED: Record<number, string> = {
  0x46: 'FLOAT (protocol 0 text)',
  0x49: 'INT (protocol 0 text)',
  0x4c: 'LONG (protocol 0 text)',
  0x50: 'PERSID (protocol 0 text)',
  0x53: 'STRING (protocol 0 text)',
  0x56: 'UNICODE (protocol 0 text)',
  0x67: 'GET (protocol 0 text)',
  0x70: 'PUT (protocol 0 text)',
  0x69: 'INST (protocol 0 class instantiation)',
  0x6f: 'OBJ (protocol 0 class instantiation)',
  0x82: 'EXT1 (copyreg extension registry)',
  0x83: 'EXT2 (copyreg extension registry)',
  0x84: 'EXT4 (copyreg extension registry)',
  0x96: 'BYTEARRAY8 (protocol 5)',
  0x97: 'NEXT_BUFFER (protocol 5 out-of-band buffer)',
  0x98: 'READONLY_BUFFER (protocol 5 out-of-band buffer)',
};

const MAX_LONG_BYTES = 64;
const MAX_LINE = 512;

function readLine(c: Cursor, what: string): string {
  const start = c.pos;
  const end = Math.min(c.bytes.length, start + MAX_LINE);
  for (let i = start; i < end; i++) {
    if (c.bytes[i] === 0x0a) {
      const s = utf8(c.bytes.subarray(start, i), c.at(what));
      c.pos = i + 1;
      return s;
    }
  }
  throw new FormatError(end === c.bytes.length ? 'E_TRUNCATED' : 'E_LIMIT', c.at(what), `${what}: no newline within ${MAX_LINE} bytes`);
}

export interface PickleScan {
  /** every global named by GLOBAL, and by STACK_GLOBAL when its strings are literal, "module.name" */
  globals: string[];
  protocol: number;
}

/**
 * Walk the opcodes without interpreting them: refuse unknown/unsupported opcodes and dangerous
 * globals (naming all of them), and require STOP at the end of the bytes.
 */
export function scanPickle(bytes: Uint8Array, loc: FormatLoc): PickleScan {
  const c = new Cursor(bytes, loc);
  const globals = new Set<string>();
  const dangerous = new Set<string>();
  let protocol = 0;
  // STACK_GLOBAL heuristic: recent string literals, and memoized strings
  const strs: Array<string | undefined> = [];
  const memo = new Map<number, string | undefined>();
  let last: string | undefined;
  const note = (module: string, name: string): void => {
    const q = `${canonicalModule(module)}.${name}`;
    globals.add(q);
    if (isDangerousGlobal(module, name)) dangerous.add(q);
  };
  for (;;) {
    const at = c.pos;
    const op = c.u8('opcode');
    let pushedStr: string | undefined;
    let isStr = false;
    switch (op) {
      case OP.STOP:
        if (c.remaining !== 0) throw new FormatError('E_TRAILING_DATA', c.at(), `${c.remaining} bytes after STOP`);
        if (dangerous.size > 0) throw new UnsafePickleError(loc, [...dangerous]);
        return { globals: [...globals], protocol };
      case OP.PROTO:
        protocol = c.u8('protocol');
        if (protocol > 5) throw new FormatError('E_UNSUPPORTED_FORMAT', { ...loc, offset: at }, `pickle protocol ${protocol}`);
        break;
      case OP.FRAME:
        c.u64('frame length');
        break;
      case OP.GLOBAL: {
        const m = readLine(c, 'GLOBAL module');
        const n = readLine(c, 'GLOBAL name');
        note(m, n);
        break;
      }
      case OP.STACK_GLOBAL: {
        const n = strs.pop();
        const m = strs.pop();
        if (m !== undefined && n !== undefined) note(m, n);
        break;
      }
      case OP.BINUNICODE:
        pushedStr = utf8(c.take(c.u32(), 'BINUNICODE'), c.at());
        isStr = true;
        break;
      case OP.SHORT_BINUNICODE:
        pushedStr = utf8(c.take(c.u8(), 'SHORT_BINUNICODE'), c.at());
        isStr = true;
        break;
      case OP.BINUNICODE8:
        pushedStr = utf8(c.take(c.u64(), 'BINUNICODE8'), c.at());
        isStr = true;
        break;
      case OP.SHORT_BINSTRING:
        c.take(c.u8(), 'SHORT_BINSTRING');
        break;
      case OP.BINSTRING: {
        const n = c.i32();
        if (n < 0) throw new FormatError('E_SYNTAX', c.at(), 'negative BINSTRING length');
        c.take(n, 'BINSTRING');
        break;
      }
      case OP.SHORT_BINBYTES:
        c.take(c.u8(), 'SHORT_BINBYTES');
        break;
      case OP.BINBYTES:
        c.take(c.u32(), 'BINBYTES');
        break;
      case OP.BINBYTES8:
        c.take(c.u64(), 'BINBYTES8');
        break;
      case OP.BINPUT:
        memo.set(c.u8(), last);
        continue;
      case OP.LONG_BINPUT:
        memo.set(c.u32(), last);
        continue;
      case OP.MEMOIZE:
        memo.set(memo.size, last);
        continue;
      case OP.BINGET:
        pushedStr = memo.get(c.u8());
        isStr = pushedStr !== undefined;
        break;
      case OP.LONG_BINGET:
        pushedStr = memo.get(c.u32());
        isStr = pushedStr !== undefined;
        break;
      case OP.BININT:
      case OP.BINFLOAT:
        c.take(op === OP.BININT ? 4 : 8, 'number');
        break;
      case OP.BININT1:
        c.u8();
        break;
      case OP.BININT2:
        c.u16();
        break;
      case OP.LONG1:
        c.take(c.u8(), 'LONG1');
        break;
      case OP.LONG4: {
        const n = c.i32();
        if (n < 0 || n > MAX_LONG_BYTES) throw new FormatError('E_LIMIT', c.at(), `LONG4 of ${n} bytes (cap ${MAX_LONG_BYTES})`);
        c.take(n, 'LONG4');
        break;
      }
      case OP.MARK:
      case OP.POP:
      case OP.POP_MARK:
      case OP.DUP:
      case OP.NONE:
      case OP.NEWTRUE:
      case OP.NEWFALSE:
      case OP.BINPERSID:
      case OP.REDUCE:
      case OP.EMPTY_LIST:
      case OP.APPEND:
      case OP.APPENDS:
      case OP.LIST:
      case OP.BUILD:
      case OP.DICT:
      case OP.EMPTY_DICT:
      case OP.SETITEM:
      case OP.SETITEMS:
      case OP.TUPLE:
      case OP.EMPTY_TUPLE:
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3:
      case OP.NEWOBJ:
      case OP.NEWOBJ_EX:
      case OP.EMPTY_SET:
      case OP.ADDITEMS:
      case OP.FROZENSET:
        break;
      default: {
        const why = REFUSED[op] ?? `unknown opcode 0x${op.toString(16)}`;
        throw new FormatError('E_PICKLE_OPCODE', { ...loc, offset: at }, `pickle opcode ${why} is not supported`);
      }
    }
    last = isStr ? pushedStr : undefined;
    if (isStr) {
      strs.push(pushedStr);
      if (strs.length > 2) strs.shift();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The VM

export interface UnpickleOptions {
  /** resolve a BINPERSID id (a ('storage', ...) tuple) to a storage */
  persistentLoad?: (pid: PyTuple, loc: FormatLoc) => PyValue;
  /** refuse every global outside the interpreted allowlist (torch weights_only behaviour) */
  strictGlobals?: boolean;
  /** charged OBJECT_COST bytes per object pushed (bounds the VM's memory by the caller's budget) */
  budget?: AllocBudget;
}

export interface UnpickleResult {
  value: PyValue;
  globals: string[];
  protocol: number;
}

const MARK = Symbol('mark');

/** Scan, then interpret `bytes`. Throws FormatError / UnsafePickleError. */
export function unpickle(bytes: Uint8Array, loc: FormatLoc, opts: UnpickleOptions = {}): UnpickleResult {
  const scan = scanPickle(bytes, loc);
  const c = new Cursor(bytes, loc);
  const stack: Array<PyValue | typeof MARK> = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let opAt = 0;
  const err = (msg: string, code: 'E_SYNTAX' | 'E_PICKLE_GLOBAL' | 'E_DTYPE' = 'E_SYNTAX'): never => {
    throw new FormatError(code, { ...loc, offset: opAt }, msg);
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) err('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) err('stack underflow');
    return stack[stack.length - 1] as PyValue;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) err('no MARK on the stack');
    const items = stack.splice(m!) as PyValue[];
    return items;
  };
  const setItem = (target: PyValue, k: PyValue, v: PyValue): void => {
    if (target instanceof PyDict) target.map.set(k, v);
    else if (target instanceof PyObject) target.dictItems.set(k, v);
    else err(`SETITEM on ${typeName(target)} (only dicts and objects)`);
  };
  const append = (target: PyValue, v: PyValue): void => {
    if (target instanceof PyList) target.items.push(v);
    else if (target instanceof PyObject) target.listItems.push(v);
    else err(`APPEND on ${typeName(target)} (only lists and objects)`);
  };
  const resolve = (module: string, name: string): PyGlobal => {
    const m = canonicalModule(module);
    if (isDangerousGlobal(m, name)) throw new UnsafePickleError({ ...loc, offset: opAt }, [`${m}.${name}`]);
    return new PyGlobal(m, name);
  };

  for (;;) {
    opAt = c.pos;
    const before = stack.length;
    const op = c.u8('opcode');
    switch (op) {
      case OP.PROTO:
        c.u8();
        break;
      case OP.FRAME:
        c.u64();
        break;
      case OP.STOP: {
        const v = pop();
        if (stack.length !== 0 || marks.length !== 0) err(`${stack.length} values left on the stack at STOP`);
        return { value: v, globals: scan.globals, protocol: scan.protocol };
      }
      case OP.MARK:
        marks.push(stack.length);
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        stack.push(top());
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT:
        stack.push(c.i32());
        break;
      case OP.BININT1:
        stack.push(c.u8());
        break;
      case OP.BININT2:
        stack.push(c.u16());
        break;
      case OP.LONG1:
        stack.push(decodeLong(c.take(c.u8(), 'LONG1'), { ...loc, offset: opAt }));
        break;
      case OP.LONG4:
        stack.push(decodeLong(c.take(c.i32(), 'LONG4'), { ...loc, offset: opAt }));
        break;
      case OP.BINFLOAT:
        stack.push(c.f64be());
        break;
      case OP.BINUNICODE:
        stack.push(utf8(c.take(c.u32(), 'BINUNICODE'), c.at()));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(utf8(c.take(c.u8(), 'SHORT_BINUNICODE'), c.at()));
        break;
      case OP.BINUNICODE8:
        stack.push(utf8(c.take(c.u64(), 'BINUNICODE8'), c.at()));
        break;
      case OP.SHORT_BINSTRING:
        // torch.load decodes Python 2 str with encoding='utf-8'
        stack.push(utf8(c.take(c.u8(), 'SHORT_BINSTRING'), c.at()));
        break;
      case OP.BINSTRING:
        stack.push(utf8(c.take(c.i32(), 'BINSTRING'), c.at()));
        break;
      case OP.SHORT_BINBYTES:
        stack.push(new PyBytes(c.take(c.u8(), 'SHORT_BINBYTES')));
        break;
      case OP.BINBYTES:
        stack.push(new PyBytes(c.take(c.u32(), 'BINBYTES')));
        break;
      case OP.BINBYTES8:
        stack.push(new PyBytes(c.take(c.u64(), 'BINBYTES8')));
        break;
      case OP.EMPTY_TUPLE:
        stack.push(new PyTuple([]));
        break;
      case OP.TUPLE:
        stack.push(new PyTuple(popMark()));
        break;
      case OP.TUPLE1: {
        const a = pop();
        stack.push(new PyTuple([a]));
        break;
      }
      case OP.TUPLE2: {
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const z = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, z]));
        break;
      }
      case OP.EMPTY_LIST:
        stack.push(new PyList());
        break;
      case OP.LIST:
        stack.push(new PyList(popMark()));
        break;
      case OP.APPEND: {
        const v = pop();
        append(top(), v);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const t = top();
        for (const v of items) append(t, v);
        break;
      }
      case OP.EMPTY_DICT:
        stack.push(new PyDict('builtins.dict'));
        break;
      case OP.DICT: {
        const items = popMark();
        if (items.length % 2) err('DICT with an odd number of items');
        const d = new PyDict('builtins.dict');
        for (let i = 0; i < items.length; i += 2) d.map.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        if (items.length % 2) err('SETITEMS with an odd number of items');
        const t = top();
        for (let i = 0; i < items.length; i += 2) setItem(t, items[i], items[i + 1]);
        break;
      }
      case OP.EMPTY_SET:
        stack.push(new PySet(false));
        break;
      case OP.ADDITEMS: {
        const items = popMark();
        const t = top();
        if (!(t instanceof PySet) || t.frozen) err(`ADDITEMS on ${typeName(t)}`);
        for (const x of items) (t as PySet).items.push(x);
        break;
      }
      case OP.FROZENSET: {
        const s = new PySet(true);
        for (const x of popMark()) s.items.push(x);
        stack.push(s);
        break;
      }
      case OP.BINPUT:
        memo.set(c.u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(c.u32(), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
      case OP.LONG_BINGET: {
        const i = op === OP.BINGET ? c.u8() : c.u32();
        if (!memo.has(i)) err(`memo index ${i} was never stored`);
        stack.push(memo.get(i)!);
        break;
      }
      case OP.GLOBAL: {
        const m = readLine(c, 'GLOBAL module');
        const n = readLine(c, 'GLOBAL name');
        stack.push(resolve(m, n));
        break;
      }
      case OP.STACK_GLOBAL: {
        const n = pop();
        const m = pop();
        if (typeof m !== 'string' || typeof n !== 'string') err('STACK_GLOBAL needs two strings');
        stack.push(resolve(m as string, n as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) {
          if (fn instanceof PyObject && fn.via === 'getattr') {
            throw new UnsafePickleError({ ...loc, offset: opAt }, [`builtins.getattr result ${fn.cls.qualname} called`]);
          }
          err(`REDUCE of ${typeName(fn)} (only globals are callable)`);
        }
        if (!(args instanceof PyTuple)) err(`REDUCE arguments must be a tuple, got ${typeName(args)}`);
        stack.push(reduce(fn as PyGlobal, (args as PyTuple).items, opts, err, { ...loc, offset: opAt }));
        break;
      }
      case OP.NEWOBJ:
      case OP.NEWOBJ_EX: {
        if (op === OP.NEWOBJ_EX) {
          const kw = pop();
          if (!(kw instanceof PyDict)) err('NEWOBJ_EX kwargs must be a dict');
        }
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal)) {
          if (cls instanceof PyObject && cls.via === 'getattr') {
            throw new UnsafePickleError({ ...loc, offset: opAt }, [`builtins.getattr result ${cls.cls.qualname} instantiated`]);
          }
          err(`NEWOBJ of ${typeName(cls)} (only classes named by a global)`);
        }
        if (!(args instanceof PyTuple)) err('NEWOBJ arguments must be a tuple');
        stack.push(newObj(cls as PyGlobal, (args as PyTuple).items, opts, err));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const t = top();
        if (t instanceof PyObject) {
          const prev = t.dict;
          if (prev && state instanceof PyDict) for (const [k, v] of state.map) prev.map.set(k, v);
          else t.state = state;
        } else if (t instanceof PyDict) t.attrs = state;
        else if (t instanceof TorchTensorRef) {
          // tensor __setstate__ (e.g. _rebuild_parameter_with_state): nothing to keep for weights
        } else err(`BUILD on ${typeName(t)}`);
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage') err(`persistent id must be a ('storage', ...) tuple, got ${typeName(pid)}`);
        if (!opts.persistentLoad) err('persistent id without a storage resolver');
        stack.push(opts.persistentLoad!(pid as PyTuple, { ...loc, offset: opAt }));
        break;
      }
      default:
        // scanPickle already refused everything else
        err(`opcode 0x${op.toString(16)}`);
    }
    // Memory accounting: each object pushed costs OBJECT_COST bytes of the caller's budget;
    // stack and memo sizes are capped outright.
    if (stack.length > before) {
      const v = stack[stack.length - 1];
      if (v !== null && typeof v === 'object' && opts.budget) opts.budget.take(OBJECT_COST, { ...loc, offset: opAt }, 'pickle objects');
      if (stack.length > MAX_STACK) throw new FormatError('E_LIMIT', { ...loc, offset: opAt }, `pickle stack deeper than ${MAX_STACK}`);
    }
    if (memo.size > MAX_MEMO) throw new FormatError('E_LIMIT', { ...loc, offset: opAt }, `more than ${MAX_MEMO} memo entries`);
  }
}

/** Budget charge per object a pickle pushes (an accounting unit for a small JS object). */
export const OBJECT_COST = 32;
const MAX_STACK = 1 << 20;
const MAX_MEMO = 1 << 21;

export function typeName(v: PyValue | undefined): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
  }
  if (v instanceof PyObject) return `${v.cls.qualname} object`;
  if (v instanceof PyDict) return v.cls;
  if (v instanceof PyGlobal) return `global ${v.qualname}`;
  if (v instanceof TorchTensorRef) return 'tensor';
  if (v instanceof TorchStorage) return 'storage';
  return v.constructor.name.replace(/^Py/, '').toLowerCase();
}

/** Two's-complement little-endian -> number (or bigint beyond 2^53). */
function decodeLong(b: Uint8Array, loc: FormatLoc): number | bigint {
  if (b.length > MAX_LONG_BYTES) throw new FormatError('E_LIMIT', loc, `LONG of ${b.length} bytes (cap ${MAX_LONG_BYTES})`);
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

type Err = (msg: string, code?: 'E_SYNTAX' | 'E_PICKLE_GLOBAL' | 'E_DTYPE') => never;

function containerFor(q: string, args: PyValue[], err: Err): PyValue | undefined {
  switch (q) {
    case 'collections.OrderedDict':
    case 'builtins.dict':
    case 'collections.Counter': {
      const d = new PyDict(q);
      const src = args[0];
      if (src instanceof PyList || src instanceof PyTuple) {
        for (const p of src.items) {
          if (!(p instanceof PyTuple) || p.items.length !== 2) err(`${q} expects (key, value) pairs`);
          d.map.set((p as PyTuple).items[0], (p as PyTuple).items[1]);
        }
      } else if (src instanceof PyDict) for (const [k, v] of src.map) d.map.set(k, v);
      return d;
    }
    case 'collections.defaultdict':
      return new PyDict(q, args[0] ?? null);
    case 'builtins.set':
    case 'builtins.frozenset': {
      const s = new PySet(q === 'builtins.frozenset');
      const src = args[0];
      // element-wise: spreading a huge list into push() would overflow the call stack
      if (src instanceof PyList || src instanceof PyTuple || src instanceof PySet) for (const x of src.items) s.items.push(x);
      return s;
    }
    case 'builtins.list': {
      const src = args[0];
      return new PyList(src instanceof PyList || src instanceof PyTuple ? src.items.slice() : []);
    }
    case 'builtins.tuple':
    case 'torch.Size': {
      const src = args[0];
      return new PyTuple(src instanceof PyList || src instanceof PyTuple ? src.items.slice() : []);
    }
    default:
      return undefined;
  }
}

function newObj(cls: PyGlobal, args: PyValue[], opts: UnpickleOptions, err: Err): PyValue {
  const c = containerFor(cls.qualname, args, err);
  if (c !== undefined) return c;
  if (opts.strictGlobals) err(`class ${cls.qualname} is outside the allowlist`, 'E_PICKLE_GLOBAL');
  return new PyObject(cls, args, 'newobj');
}

function int(v: PyValue, what: string, err: Err): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) err(`${what} must be an integer, got ${typeName(v)}`);
  return v as number;
}

function intList(v: PyValue, what: string, err: Err): number[] {
  if (!(v instanceof PyTuple) && !(v instanceof PyList)) err(`${what} must be a tuple, got ${typeName(v)}`);
  return (v as PyTuple).items.map((x, i) => int(x, `${what}[${i}]`, err));
}

function rebuildTensor(args: PyValue[], dtype: TorchDType | undefined, err: Err): TorchTensorRef {
  if (args.length < 4) err(`tensor rebuild needs at least 4 arguments, got ${args.length}`);
  let storage = args[0];
  if (!(storage instanceof TorchStorage)) err(`tensor rebuild: first argument must be a storage, got ${typeName(storage)}`);
  if (dtype !== undefined) {
    // _rebuild_tensor_v3: an untyped (byte) storage reinterpreted as `dtype`
    const s = storage as TorchStorage;
    const size = TORCH_ELEMENT_SIZE[dtype];
    if (s.dtype !== dtype) {
      if (s.dtype !== 'uint8' || s.numel % size !== 0) err(`storage of ${s.numel} ${s.dtype} cannot be viewed as ${dtype}`, 'E_DTYPE');
      storage = new TorchStorage(s.key, dtype, s.location, s.numel / size);
    }
  }
  const offset = int(args[1], 'storage_offset', err);
  const size = intList(args[2], 'size', err);
  const stride = intList(args[3], 'stride', err);
  const requiresGrad = args[4] === true;
  if (size.length !== stride.length) err(`size has ${size.length} dims, stride ${stride.length}`);
  return new TorchTensorRef(storage as TorchStorage, offset, size, stride, requiresGrad, false);
}

function reduce(fn: PyGlobal, args: PyValue[], opts: UnpickleOptions, err: Err, at: FormatLoc): PyValue {
  const q = fn.qualname;
  const c = containerFor(q, args, err);
  if (c !== undefined) return c;
  switch (q) {
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2':
      return rebuildTensor(args, undefined, err);
    case 'torch._utils._rebuild_tensor_v3': {
      const d = args[6];
      const dtype = d instanceof PyGlobal ? TORCH_DTYPES[d.qualname] : undefined;
      if (!dtype) err(`_rebuild_tensor_v3 dtype ${typeName(d)} is not supported`, 'E_DTYPE');
      return rebuildTensor(args, dtype, err);
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state': {
      const t = args[0];
      if (!(t instanceof TorchTensorRef)) err(`_rebuild_parameter of ${typeName(t)}`);
      const r = t as TorchTensorRef;
      return new TorchTensorRef(r.storage, r.offset, r.size, r.stride, args[1] === true, true);
    }
    case 'torch._tensor._rebuild_from_type_v2': {
      const f = args[0];
      const a = args[2];
      if (!(f instanceof PyGlobal) || !(a instanceof PyTuple)) err('_rebuild_from_type_v2(func, type, args, state) malformed');
      return reduce(f as PyGlobal, (a as PyTuple).items, opts, err, at);
    }
    case '_codecs.encode': {
      const s = args[0];
      const enc = typeof args[1] === 'string' ? args[1].toLowerCase().replace('-', '') : 'utf8';
      if (typeof s !== 'string') err('_codecs.encode of a non-string');
      const str = s as string;
      if (enc === 'latin1') {
        const out = new Uint8Array(str.length);
        for (let i = 0; i < str.length; i++) {
          const code = str.charCodeAt(i);
          if (code > 255) err('_codecs.encode latin1 of a character above U+00FF');
          out[i] = code;
        }
        return new PyBytes(out);
      }
      if (enc === 'utf8') return new PyBytes(new TextEncoder().encode(str));
      return err(`_codecs.encode with encoding ${String(args[1])}`);
    }
    case 'builtins.bytearray':
    case 'builtins.bytes': {
      const s = args[0];
      if (s instanceof PyBytes) return s;
      if (s === undefined) return new PyBytes(new Uint8Array(0));
      return err(`${q} of ${typeName(s)}`);
    }
    case 'builtins.getattr': {
      // enum member form only: getattr(<class global>, '<identifier>')
      const [cls, attr] = args;
      if (args.length === 2 && cls instanceof PyGlobal && typeof attr === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(attr)) {
        return new PyObject(new PyGlobal(cls.module, `${cls.name}.${attr}`), [], 'getattr');
      }
      throw new UnsafePickleError(at, [`builtins.getattr(${args.map(typeName).join(', ')})`]);
    }
    case 'copyreg._reconstructor': {
      const cls = args[0];
      if (!(cls instanceof PyGlobal)) err('copyreg._reconstructor of a non-class');
      return newObj(cls as PyGlobal, [], opts, err);
    }
  }
  if (UNSUPPORTED_REBUILDS.has(q)) err(`${q}: quantized, sparse, nested, meta and device-specific tensors are not supported`, 'E_DTYPE');
  if (opts.strictGlobals) err(`callable ${q} is outside the allowlist`, 'E_PICKLE_GLOBAL');
  return new PyObject(fn, args, 'reduce');
}
