/**
 * safetensors: round trips, exact F16/BF16 conversion, and one refusal per check of the
 * reference reader plus the gaps it leaves (duplicate keys, non-integers, > 2^53).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f16ToNumber } from '../../src/io/bytes.js';
import { FormatError, NonFiniteError } from '../../src/io/errors.js';
import { SAFETENSORS_DTYPES, listSafetensors, parseSafetensorsHeader, readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { Tensor, intTensor, tensor } from '../../src/tensor/tensor.js';
import { bytesOf } from './helpers.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e.code;
    throw e;
  }
  return 'no error';
}

/** A file from a header string and a data buffer (header padded with spaces to 8). */
function st(header: string, data: Uint8Array = new Uint8Array(0), lenOverride?: [number, number]): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, lenOverride ? lenOverride[0] : h.length, true);
  v.setUint32(4, lenOverride ? lenOverride[1] : 0, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const ent = (dtype: string, shape: number[], b: number, e: number): string => JSON.stringify({ dtype, shape, data_offsets: [b, e] });

describe('safetensors round trip', () => {
  it('write -> read gives equal tensors (f32 i32 i8 u8), aligned, with metadata', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ kind: fc.constantFrom('f32', 'i32', 'i8', 'u8'), vals: fc.array(fc.integer({ min: -128, max: 127 }), { maxLength: 9 }) }),
          { maxLength: 5 },
        ),
        fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
        (specs, meta) => {
          runs++;
          const ts = new Map<string, Tensor>();
          specs.forEach(({ kind, vals }, i) => {
            const name = `layer.${i}`;
            if (kind === 'f32') ts.set(name, tensor(vals.map((v) => v / 3)));
            else ts.set(name, intTensor(kind as 'i32', kind === 'u8' ? vals.map((v) => v + 128) : vals));
          });
          const bytes = writeSafetensors(ts, meta);
          const n = new DataView(bytes.buffer).getUint32(0, true);
          expect(n % 8).toBe(0);
          const back = readSafetensors(bytes);
          expect(back.metadata).toEqual(meta);
          expect(back.tensors.size).toBe(ts.size);
          for (const [name, t] of ts) {
            const u = back.tensors.get(name)!;
            expect(u.dtype).toBe(t.dtype);
            expect(Buffer.from(bytesOf(u)).equals(Buffer.from(bytesOf(t)))).toBe(true);
          }
          // every tensor's absolute offset is a multiple of its element size
          const h = parseSafetensorsHeader(bytes);
          for (const e of h.entries) expect((h.dataStart + e.begin) % SAFETENSORS_DTYPES[e.dtype]).toBe(0);
          expect(listSafetensors(bytes).map((e) => e.name).sort()).toEqual([...ts.keys()].sort());
        },
      ),
      { numRuns: 60 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('every float16 bit pattern converts exactly (checked against a float64 formula)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const e = (h >> 10) & 31;
      if (e === 31) continue;
      const m = h & 1023;
      const sign = h & 0x8000 ? -1 : 1;
      const want = e === 0 ? sign * (m / 1024) * 2 ** -14 : sign * (1 + m / 1024) * 2 ** (e - 15);
      expect(f16ToNumber(h)).toBe(want);
      expect(Math.fround(want)).toBe(want);
    }
    expect(f16ToNumber(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(f16ToNumber(0x7e00))).toBe(true);
  });

  it('BF16 and F16 tensors read as exact f32; I64 narrows to i32 only when every value fits', () => {
    const bf = Uint8Array.of(0x80, 0x3f, 0x00, 0xc0); // 1.0, -2.0
    const f = st(`{"a":${ent('BF16', [2], 0, 4)}}`, bf);
    expect(readSafetensors(f).tensors.get('a')!.toArray()).toEqual([1, -2]);
    const i64 = new Uint8Array(new BigInt64Array([-(2n ** 31n), 2n ** 31n - 1n]).buffer);
    expect(readSafetensors(st(`{"a":${ent('I64', [2], 0, 16)}}`, i64)).tensors.get('a')!.toArray()).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    const big = new Uint8Array(new BigInt64Array([2n ** 31n]).buffer);
    expect(code(() => readSafetensors(st(`{"a":${ent('I64', [1], 0, 8)}}`, big)))).toBe('E_DTYPE');
  });

  it('0-rank and empty tensors are fine', () => {
    const f = st(`{"s":${ent('F32', [], 0, 4)},"e":${ent('F32', [0, 3], 4, 4)}}`, new Uint8Array(new Float32Array([2.5]).buffer));
    const r = readSafetensors(f);
    expect(r.tensors.get('s')!.shape).toEqual([]);
    expect(r.tensors.get('s')!.item()).toBe(2.5);
    expect(r.tensors.get('e')!.shape).toEqual([0, 3]);
  });
});

describe('safetensors refusals', () => {
  const d8 = new Uint8Array(8);
  it.each([
    ['file shorter than 8 bytes', () => Uint8Array.of(1, 2, 3), 'E_TRUNCATED'],
    ['header length with high bits set', () => st('{}', undefined, [2, 1]), 'E_HEADER_TOO_LARGE'],
    ['header length above the cap', () => st('{}', undefined, [100_000_000, 0]), 'E_HEADER_TOO_LARGE'],
    ['header longer than the file', () => st('{}', undefined, [100, 0]), 'E_TRUNCATED'],
    ['header not UTF-8', () => { const f = st('{"\u00e9":1}'); f[10] = 0xff; return f; }, 'E_SYNTAX'],
    ['header not JSON', () => st('{"a":'), 'E_SYNTAX'],
    ['header is an array', () => st('[]'), 'E_SYNTAX'],
    ['duplicate tensor key', () => st(`{"a":${ent('F32', [2], 0, 8)},"a":${ent('F32', [2], 0, 8)}}`, d8), 'E_DUPLICATE_KEY'],
    ['float in header', () => st(`{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, d8), 'E_SYNTAX'],
    ['negative number', () => st(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, d8), 'E_SYNTAX'],
    ['integer above 2^53', () => st(`{"a":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,8]}}`, d8), 'E_SYNTAX'],
    ['unknown dtype', () => st(`{"a":${ent('F7', [2], 0, 8)}}`, d8), 'E_DTYPE'],
    ['unsupported dtype on read', () => st(`{"a":${ent('U16', [4], 0, 8)}}`, d8), 'E_DTYPE'],
    ['extra entry key', () => st(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, d8), 'E_SYNTAX'],
    ['missing data_offsets', () => st(`{"a":{"dtype":"F32","shape":[2]}}`, d8), 'E_SYNTAX'],
    ['byte count != numel x size', () => st(`{"a":${ent('F32', [3], 0, 8)}}`, d8), 'E_BYTECOUNT'],
    ['shape overflows', () => st(`{"a":${ent('F32', [4294967296, 4294967296], 0, 8)}}`, d8), 'E_SHAPE'],
    ['end before begin', () => st(`{"a":${ent('F32', [0], 8, 4)}}`, d8), 'E_OFFSETS'],
    ['gap before a tensor', () => st(`{"a":${ent('F32', [1], 4, 8)}}`, d8), 'E_OFFSETS'],
    ['overlapping tensors', () => st(`{"a":${ent('F32', [2], 0, 8)},"b":${ent('F32', [1], 4, 8)}}`, d8), 'E_OFFSETS'],
    ['many tensors over the same bytes', () => st(`{${Array.from({ length: 10 }, (_, i) => `"t${i}":${ent('F32', [2], 0, 8)}`).join(',')}}`, d8), 'E_OFFSETS'],
    ['trailing bytes (polyglot)', () => st(`{"a":${ent('F32', [1], 0, 4)}}`, d8), 'E_TRAILING_DATA'],
    ['data truncated', () => st(`{"a":${ent('F32', [4], 0, 16)}}`, d8), 'E_TRUNCATED'],
    ['metadata value not a string', () => st(`{"__metadata__":{"a":1}}`), 'E_SYNTAX'],
    ['BOOL byte other than 0/1', () => st(`{"a":${ent('BOOL', [1], 0, 1)}}`, Uint8Array.of(2)), 'E_DTYPE'],
    ['nesting deeper than the cap', () => st(`{"__metadata__":${'['.repeat(20)}${']'.repeat(20)}}`), 'E_LIMIT'],
    ['Git LFS pointer', () => new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 88000000\n'), 'E_NOT_MODEL_FILE'],
    ['HTML error page', () => new TextEncoder().encode('<!DOCTYPE html><html><body>404</body></html>'), 'E_NOT_MODEL_FILE'],
    ['empty file', () => new Uint8Array(0), 'E_NOT_MODEL_FILE'],
  ])('%s', (_what, make, want) => {
    expect(code(() => readSafetensors(make()))).toBe(want);
  });

  it('accepts JSON whitespace around the header and escapes in names; "__proto__" is an ordinary name', () => {
    const f = st(` \n{"__proto__" : ${ent('F32', [1], 0, 4)}, "a\\u00e9" : ${ent('F32', [1], 4, 8)}}\t `, d8);
    const r = readSafetensors(f);
    expect([...r.tensors.keys()]).toEqual(['__proto__', 'a\u00e9']);
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
  });

  it('NaN in a weight: NonFiniteError naming tensor and index', () => {
    const f = writeSafetensors({ good: tensor([1]), bad: tensor([0, 0, NaN]) });
    expect(() => readSafetensors(f)).toThrow(NonFiniteError);
    expect(() => readSafetensors(f)).toThrow(/'bad' holds NaN at flat index 2/);
    expect(readSafetensors(f, { allowNonFinite: true }).tensors.size).toBe(2);
  });

  it('writer refuses packed 4-bit tensors', () => {
    expect(code(() => writeSafetensors({ q: intTensor('i4', [1, -1]) }))).toBe('E_DTYPE');
  });
});
