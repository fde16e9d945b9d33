/**
 * PyTorch zip checkpoints: the zip directory checks, the pickle VM's structural rules and
 * refusals, storage/view validation, and hand-built archives in 2.x layouts.
 */
import { describe, expect, it } from 'vitest';
import { FormatError, UnsafePickleError } from '../../src/io/errors.js';
import { PyDict, PyObject, scanPickle, unpickle } from '../../src/io/pickle.js';
import { detectFormat } from '../../src/io/sniff.js';
import { openTorch, readTorch } from '../../src/io/torch.js';
import { ZipArchive } from '../../src/io/zip.js';
import { AllocBudget } from '../../src/io/bytes.js';
import { Pk, f32Bytes, fixture, torchZip, writeZip } from './helpers.js';

function err(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e;
    throw e;
  }
  throw new Error('expected a FormatError, got none');
}

/** {'w': tensor} as torch writes a state_dict (OrderedDict + SETITEMS + _metadata BUILD). */
function stateDict(size: number[], stride: number[], offset: number, numel: number, type = 'FloatStorage'): Uint8Array {
  const p = new Pk().proto().global('collections', 'OrderedDict').emptyTuple().reduce().put(0);
  p.mark().str('w').tensor(type, '0', numel, offset, size, stride).setitems();
  p.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce().setitem().build();
  return p.stop().bytes();
}

describe('torch archives built by hand', () => {
  it('a minimal state_dict loads; views honour offset and strides (copied to contiguous)', () => {
    const rec = f32Bytes([0, 1, 2, 3, 4, 5]);
    const t = readTorch(torchZip(stateDict([2, 2], [1, 3], 1, 6), { '0': rec })).tensors.get('w')!;
    // storage [0..5] viewed at offset 1 with strides (1, 3): [[1, 4], [2, 5]]
    expect(t.toArray()).toEqual([1, 4, 2, 5]);
  });

  it('zip64 records and an "archive" prefix with 2.x extra records are read', () => {
    const pkl = stateDict([3], [1], 0, 3);
    const z = writeZip(
      [
        { name: 'archive/data.pkl', data: pkl },
        { name: 'archive/byteorder', data: new TextEncoder().encode('little') },
        { name: 'archive/data/0', data: f32Bytes([7, 8, 9]) },
        { name: 'archive/.format_version', data: new TextEncoder().encode('1') },
        { name: 'archive/.data/serialization_id', data: new TextEncoder().encode('1234') },
      ],
      { zip64: true },
    );
    expect(readTorch(z).tensors.get('w')!.toArray()).toEqual([7, 8, 9]);
  });

  it('a tensor whose bytes contain "PK\\x03\\x04" does not confuse the reader (central directory only)', () => {
    const rec = Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x50, 0x4b, 0x01, 0x02);
    const z = torchZip(stateDict([2], [1], 0, 2, 'IntStorage'), { '0': rec });
    expect(readTorch(z).tensors.get('w')!.toArray()).toEqual([0x04034b50, 0x02014b50]);
  });

  it.each([
    ['view beyond its storage', () => torchZip(stateDict([2, 2], [1, 3], 3, 6), { '0': f32Bytes([0, 1, 2, 3, 4, 5]) }), 'E_BYTECOUNT'],
    ['negative stride', () => torchZip(stateDict([2], [-1], 1, 2), { '0': f32Bytes([0, 1]) }), 'E_SHAPE'],
    ['storage record shorter than numel x size', () => torchZip(stateDict([3], [1], 0, 3), { '0': f32Bytes([1, 2]) }), 'E_BYTECOUNT'],
    ['storage record missing', () => torchZip(stateDict([3], [1], 0, 3), {}), 'E_NAME'],
    ['quantized storage type', () => torchZip(stateDict([3], [1], 0, 3, 'QInt8Storage'), { '0': new Uint8Array(3) }), 'E_DTYPE'],
    ['entries under two folders', () => writeZip([{ name: 'a/data.pkl', data: stateDict([1], [1], 0, 1) }, { name: 'b/data/0', data: f32Bytes([1]) }]), 'E_SYNTAX'],
    ['no data.pkl', () => writeZip([{ name: 'a/data/0', data: f32Bytes([1]) }]), 'E_SYNTAX'],
    ['TorchScript archive', () => torchZip(stateDict([1], [1], 0, 1), { '0': f32Bytes([1]) }, 'archive', [{ name: 'archive/constants.pkl', data: new Uint8Array(1) }]), 'E_UNSUPPORTED_FORMAT'],
    ['byteorder record neither little nor big', () => torchZip(stateDict([1], [1], 0, 1), { '0': f32Bytes([1]) }, 'archive', [{ name: 'archive/byteorder', data: new TextEncoder().encode('middle') }]), 'E_ENDIANNESS'],
    ['data.pkl above the cap', () => torchZip(new Uint8Array(100), {}), 'E_HEADER_TOO_LARGE'],
  ])('%s', (_what, make, want) => {
    expect(err(() => readTorch(make(), want === 'E_HEADER_TOO_LARGE' ? { maxPickleBytes: 99 } : {})).code).toBe(want);
  });

  it('legacy (pre-1.6) files and bare pickles are refused with a remedy', () => {
    const legacy = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e);
    expect(err(() => detectFormat(legacy)).message).toMatch(/torch >= 1.6/);
    expect(err(() => detectFormat(new Pk().proto().none().stop().bytes())).code).toBe('E_UNSUPPORTED_FORMAT');
  });
});

describe('zip directory checks', () => {
  const ok = [
    { name: 'a/x', data: new Uint8Array(10) },
    { name: 'a/y', data: new Uint8Array(10) },
  ];
  const open = (z: Uint8Array): ZipArchive => ZipArchive.open(z, { file: 't.zip' });
  it('accepts the plain archive, deflated entries included', () => {
    const z = open(writeZip([...ok, { name: 'a/z', data: new Uint8Array(5000).fill(3), deflate: true }]));
    expect(z.read('a/z', new AllocBudget(1e6))[4999]).toBe(3);
  });
  it.each([
    ['no end-of-central-directory record', () => new Uint8Array(100), 'E_MAGIC'],
    ['file shorter than an EOCD', () => new Uint8Array(5), 'E_TRUNCATED'],
    ['duplicate names', () => writeZip([ok[0], ok[0]]), 'E_DUPLICATE_KEY'],
    ['local name differs', () => writeZip([{ ...ok[0], localName: 'a/q' }]), 'E_SYNTAX'],
    ['encrypted entry', () => writeZip([{ ...ok[0], flags: 1 }]), 'E_UNSUPPORTED_FORMAT'],
    ['unknown method', () => writeZip([{ ...ok[0], method: 12 }]), 'E_UNSUPPORTED_FORMAT'],
    ['stored sizes disagree', () => writeZip([{ ...ok[0], size: 11 }]), 'E_BYTECOUNT'],
    ['data runs into the central directory', () => writeZip([{ ...ok[0], compressedSize: 40, size: 40 }]), 'E_OFFSETS'],
    ['declared inflated size beyond the DEFLATE ratio', () => writeZip([{ ...ok[0], deflate: true, size: 2 ** 31 }]), 'E_DECOMPRESSED_SIZE'],
    ['comment does not reach the end', () => { const z = writeZip(ok, { comment: 'hi' }); return z.subarray(0, z.length - 1); }, 'E_MAGIC'],
  ])('%s', (_what, make, want) => {
    expect(err(() => open(make())).code).toBe(want);
  });
  it('overlapping entries are refused (an entry hidden inside another one\'s data)', () => {
    const inner = writeZip([{ name: 'a/y', data: new Uint8Array(4) }]);
    const innerLocal = inner.subarray(0, 30 + 3 + 4); // local header + data of a/y
    const z = writeZip([
      { name: 'a/x', data: innerLocal },
      { name: 'a/y', data: new Uint8Array(4), at: 30 + 3 },
    ]);
    expect(err(() => open(z)).code).toBe('E_OFFSETS');
    expect(err(() => open(z)).message).toMatch(/overlaps entry 'a\/x'/);
  });
  it('a deflated entry that inflates past or short of its declared size, or with a wrong CRC, is refused on read', () => {
    const big = new Uint8Array(100_000);
    const lying = open(writeZip([{ name: 'a/b', data: big, deflate: true, size: 1000 }]));
    expect(err(() => lying.read('a/b', new AllocBudget(1e7))).code).toBe('E_DECOMPRESSED_SIZE');
    const short = open(writeZip([{ name: 'a/b', data: new Uint8Array(10), deflate: true, size: 50 }]));
    expect(err(() => short.read('a/b', new AllocBudget(1e7))).code).toBe('E_DECOMPRESSED_SIZE');
    const crc = open(writeZip([{ name: 'a/b', data: new Uint8Array(10), crc: 5 }]));
    expect(err(() => crc.read('a/b', new AllocBudget(1e7))).code).toBe('E_CHECKSUM');
    expect(err(() => open(writeZip([{ name: 'a/b', data: big, deflate: true }])).read('a/b', new AllocBudget(1000))).code).toBe('E_LIMIT');
  });
});

describe('pickle VM', () => {
  const loc = { file: 'p.pkl' };
  it('interprets containers, memo references (shared, not copied), floats, longs and bytes', () => {
    const p = new Pk().proto().emptyDict().put(0);
    p.mark().str('l').emptyList().put(1).mark().int(1).int(-7).float(0.5).op(0x8a, 2, 0xff, 0x7f).op(0x65); // APPENDS
    p.str('same').get(1).str('b').global('_codecs', 'encode').mark().str('\u00ff\u0001').str('latin1').tuple().reduce();
    p.str('s').global('__builtin__', 'set').mark().emptyList().int(3).append().tuple().reduce();
    p.setitems().stop();
    const v = unpickle(p.bytes(), loc).value as PyDict;
    const l = v.map.get('l') as { items: unknown[] };
    expect(l.items).toEqual([1, -7, 0.5, 32767]);
    expect(v.map.get('same')).toBe(l);
    expect(Array.from((v.map.get('b') as { data: Uint8Array }).data)).toEqual([255, 1]);
    expect((v.map.get('s') as { items: unknown[] }).items).toEqual([3]);
  });

  it('unknown classes become placeholders with their BUILD state', () => {
    const p = new Pk().proto().global('mylib.mod', 'Thing').emptyTuple().newobj().emptyDict().str('x').int(5).setitem().build().stop();
    const o = unpickle(p.bytes(), loc).value as PyObject;
    expect(o).toBeInstanceOf(PyObject);
    expect(o.cls.qualname).toBe('mylib.mod.Thing');
    expect(o.dict!.map.get('x')).toBe(5);
  });

  it('getattr(<class>, "NAME") (Python >= 3.11 enum members) is an inert placeholder; other uses are refused', () => {
    const enumMember = new Pk().proto().global('__builtin__', 'getattr').mark().global('accelerate.state', 'DistributedType').str('NO').tuple().reduce().stop();
    expect((unpickle(enumMember.bytes(), loc).value as PyObject).cls.qualname).toBe('accelerate.state.DistributedType.NO');
    const gadget = new Pk().proto().global('__builtin__', 'getattr').mark().global('torch', 'os').str('system').tuple().reduce().mark().str('id').tuple().reduce().stop();
    expect(() => unpickle(gadget.bytes(), loc)).toThrow(UnsafePickleError);
    const dunder = new Pk().proto().global('__builtin__', 'getattr').mark().global('torch', 'Tensor').str('__reduce_ex__').tuple().reduce().stop();
    expect(() => unpickle(dunder.bytes(), loc)).toThrow(UnsafePickleError);
  });

  it('dangerous globals are refused before interpretation, all of them named; STACK_GLOBAL too', () => {
    const p = new Pk().proto().global('os', 'system').global('subprocess', 'Popen').global('__builtin__', 'exec').op(0x30, 0x30).stop();
    const e = err(() => scanPickle(p.bytes(), loc)) as UnsafePickleError;
    expect(e).toBeInstanceOf(UnsafePickleError);
    expect(e.globals).toEqual(['os.system', 'subprocess.Popen', 'builtins.exec']);
    const sg = new Pk().proto(4).short('nt').op(0x94).short('system').op(0x94).op(0x93).stop();
    expect(err(() => unpickle(sg.bytes(), loc))).toBeInstanceOf(UnsafePickleError);
    // STACK_GLOBAL whose strings come from the memo (picklescan bypass pattern)
    const memo = new Pk().proto(4).short('run').op(0x94).op(0x30).short('runpy').op(0x94).op(0x30).get(1).get(0).op(0x93).stop();
    expect(err(() => unpickle(memo.bytes(), loc))).toBeInstanceOf(UnsafePickleError);
  });

  it.each([
    ['INST (protocol 0 instantiation)', [0x80, 2, 0x69, ...new TextEncoder().encode('os\nsystem\n'), 0x2e], 'E_PICKLE_OPCODE'],
    ['EXT1', [0x80, 2, 0x82, 1, 0x2e], 'E_PICKLE_OPCODE'],
    ['NEXT_BUFFER', [0x80, 5, 0x97, 0x2e], 'E_PICKLE_OPCODE'],
    ['unknown opcode', [0x80, 2, 0xf0, 0x2e], 'E_PICKLE_OPCODE'],
    ['no STOP', [0x80, 2, 0x4e], 'E_TRUNCATED'],
    ['bytes after STOP', [0x80, 2, 0x4e, 0x2e, 0x00], 'E_TRAILING_DATA'],
    ['stack underflow', [0x80, 2, 0x30, 0x2e], 'E_SYNTAX'],
    ['memo index never stored', [0x80, 2, 0x68, 3, 0x2e], 'E_SYNTAX'],
    ['SETITEM on a list', [0x80, 2, 0x5d, 0x4b, 1, 0x4b, 2, 0x73, 0x2e], 'E_SYNTAX'],
    ['APPEND on a dict', [0x80, 2, 0x7d, 0x4b, 1, 0x61, 0x2e], 'E_SYNTAX'],
    ['BUILD on an int', [0x80, 2, 0x4b, 1, 0x7d, 0x62, 0x2e], 'E_SYNTAX'],
    ['REDUCE of a non-global', [0x80, 2, 0x4b, 1, 0x29, 0x52, 0x2e], 'E_SYNTAX'],
    ['persistent id that is not a storage tuple', [0x80, 2, 0x4b, 1, 0x51, 0x2e], 'E_SYNTAX'],
    ['string longer than the pickle', [0x80, 2, 0x58, 0xff, 0xff, 0, 0, 0x41, 0x2e], 'E_TRUNCATED'],
    ['LONG4 above the cap', [0x80, 2, 0x8b, 0, 1, 0, 0, 0x2e], 'E_LIMIT'],
    ['GLOBAL without newline', [0x80, 2, 0x63, ...new Array(600).fill(0x41), 0x2e], 'E_LIMIT'],
    ['values left at STOP', [0x80, 2, 0x4e, 0x4e, 0x2e], 'E_SYNTAX'],
    ['quantized tensor rebuild', [...new Pk().proto().global('torch._utils', '_rebuild_qtensor').emptyTuple().reduce().stop().bytes()], 'E_DTYPE'],
  ])('%s', (_what, bytes, want) => {
    expect(err(() => unpickle(Uint8Array.from(bytes as number[]), loc)).code).toBe(want);
  });

  it('the real protocol-4 fixture (FRAME, MEMOIZE, STACK_GLOBAL) reads', () => {
    expect([...openTorch(fixture('state_p4.pth')).refs.keys()]).toEqual(['a.weight', 'a.bias']);
  });
});

describe('resource bounds of the torch reader', () => {
  it('a set of 300,000 items in one MARK is built without overflowing the call stack', () => {
    const p = new Pk().proto(4).op(0x8f).mark();
    for (let i = 0; i < 300_000; i++) p.op(0x4e);
    p.op(0x90).stop();
    const v = unpickle(p.bytes(), { file: 'big.pkl' }).value as { items: unknown[] };
    expect(v.items.length).toBe(300_000);
  });

  it('many views of one storage read its record once and are charged to the budget', () => {
    const p = new Pk().proto().emptyDict().mark();
    for (let i = 0; i < 200; i++) p.str(`v${i}`).tensor('FloatStorage', '0', 1024, i, [512], [1]);
    p.setitems().stop();
    const z = torchZip(p.bytes(), { '0': new Uint8Array(4096) });
    const ck = openTorch(z);
    expect(ck.refs.size).toBe(200);
    expect(ck.tensors().get('v199')!.size).toBe(512);
    // 200 x 2 KiB of tensors: refused under a 64 KiB budget, naming the limit
    expect(() => openTorch(z, { maxAllocBytes: 1 << 16 }).tensors()).toThrow(/limit of 65536/);
  });
});

describe('pickle memory bounds', () => {
  it('a list of a million empty dicts (2 bytes each) exhausts the budget, not the heap', () => {
    const p = new Pk().proto().emptyList();
    for (let i = 0; i < 1_000_000; i++) p.emptyDict().append();
    p.stop();
    const bytes = p.bytes();
    const e = err(() => unpickle(bytes, { file: 'x' }, { budget: new AllocBudget(4 * bytes.length) }));
    expect(e.code).toBe('E_LIMIT');
    expect(e.message).toMatch(/pickle objects/);
  });
  it('the stack is capped', () => {
    const p = new Pk().proto().emptyList();
    for (let i = 0; i < (1 << 20) + 1; i++) p.op(0x32);
    expect(err(() => unpickle(p.stop().bytes(), { file: 'x' })).code).toBe('E_LIMIT');
  });
});
