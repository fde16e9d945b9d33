/**
 * .qwm: round trips over every dtype (packed 4-bit with odd counts included) and both storage
 * modes, and one refusal per failure mode, each with its typed error and code.
 */
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/io/bytes.js';
import { FormatError, NonFiniteError } from '../../src/io/errors.js';
import { readQwm, writeQwm } from '../../src/io/qwm.js';
import { DTYPES, intRange, type DType } from '../../src/tensor/dtype.js';
import { Tensor, intTensor, tensor } from '../../src/tensor/tensor.js';
import { bytesOf, qwmContainer } from './helpers.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e.code;
    throw e;
  }
  return 'no error';
}

const arbTensor = fc
  .record({
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 3 }),
    seed: fc.integer(),
  })
  .map(({ dtype, shape, seed }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    let s = seed >>> 0;
    const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
    if (dtype === 'f32') {
      const d = new Float32Array(n);
      for (let i = 0; i < n; i++) d[i] = ((next() / 2 ** 32) - 0.5) * 2 ** ((next() % 40) - 20);
      return new Tensor('f32', shape, d);
    }
    const [lo, hi] = intRange(dtype as Exclude<DType, 'f32'>);
    const vals = Array.from({ length: n }, () => lo + (next() % (hi - lo + 1)));
    return intTensor(dtype as Exclude<DType, 'f32'>, vals, shape);
  });

const arbPlain: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string(),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.string().filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), tie('v'), { maxKeys: 3 }),
  ),
})).v;

describe('.qwm round trip', () => {
  it('write -> read returns equal tensors (all dtypes, odd packed counts), config and meta, stored and deflated', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.array(arbTensor, { maxLength: 6 }),
        fc.dictionary(fc.string({ minLength: 1 }).filter((k) => !['__proto__', 'constructor', 'prototype', 'encoder', 'predictor', 'actionEncoder', 'proprioEncoder', 'decoder'].includes(k)), arbPlain, { maxKeys: 3 }),
        fc.constantFrom(0, 1, 6),
        (ts, meta, level) => {
          runs++;
          const tensors = new Map(ts.map((t, i) => [`t${i}.${t.dtype}`, t]));
          const bytes = writeQwm({ config: { note: 'x' }, tensors, meta: meta as Record<string, unknown> }, { level });
          const back = readQwm(bytes);
          expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
          for (const [n, t] of tensors) {
            const u = back.tensors.get(n)!;
            expect(u.dtype).toBe(t.dtype);
            expect(u.shape).toEqual(t.shape);
            expect(Buffer.from(bytesOf(u)).equals(Buffer.from(bytesOf(t)))).toBe(true);
          }
          expect(back.config).toEqual({ note: 'x' });
          expect(back.meta).toEqual(JSON.parse(JSON.stringify(meta)));
        },
      ),
      { numRuns: 60 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('NaN payloads, -0 and subnormals survive bit for bit when allowed', () => {
    const d = new Float32Array([-0, 1e-45, -3.4028234663852886e38, 1]);
    const t = tensor(d, [4]);
    const back = readQwm(writeQwm({ tensors: { t } })).tensors.get('t')!;
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(t)))).toBe(true);
    expect(Object.is(back.at(0), -0)).toBe(true);
  });

  it('a known config is checked against the tensors on read', () => {
    const tensors = { 'action_encoder.weight': tensor(new Float32Array(20), [2, 10]), 'action_encoder.bias': tensor([0, 0]) };
    const ok = writeQwm({ config: { actionEncoder: { inDim: 10, embDim: 2 } }, tensors });
    expect(readQwm(ok).config).toEqual({ actionEncoder: { inDim: 10, embDim: 2 } });
    const bad = writeQwm({ config: { actionEncoder: { inDim: 9, embDim: 2 } }, tensors });
    expect(code(() => readQwm(bad))).toBe('E_CONFIG');
    expect(readQwm(bad, { checkConfig: false }).tensors.size).toBe(2);
    const missing = writeQwm({ config: { actionEncoder: { inDim: 10, embDim: 2 } }, tensors: { 'action_encoder.weight': tensors['action_encoder.weight'] } });
    expect(code(() => readQwm(missing))).toBe('E_NAME');
    const forged = writeQwm({ config: { encoder: { dim: 4, depth: 1e9, heads: 1, patchSize: 1, inChans: 3, mlpDim: 4, posTokens: 2, hasMaskToken: false } }, tensors });
    expect(code(() => readQwm(forged))).toBe('E_CONFIG');
  });
});

describe('.qwm refusals', () => {
  const good = writeQwm({ tensors: { w: tensor([1, 2, 3]) }, meta: { a: 1 } }, { level: 6 });

  const entry = (over: Record<string, unknown> = {}): Record<string, unknown> => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    return { name: 'w', dtype: 'f32', shape: [2], bytes: 8, checksum: crc32(data), data, ...over };
  };
  const body = (tensors: unknown[], over: Record<string, unknown> = {}): Uint8Array =>
    encode({ format: 'quantwm', version: 1, config: {}, tensors, meta: {}, ...over });

  it('the hand-made body helper itself is accepted', () => {
    expect(readQwm(qwmContainer(body([entry()]))).tensors.get('w')!.toArray()).toEqual([1, 2]);
    expect(readQwm(qwmContainer(body([entry()]), { deflate: true })).tensors.size).toBe(1);
  });

  it.each([
    ['short file with the magic', () => good.subarray(0, 10), 'E_TRUNCATED'],
    ['short file without the magic', () => Uint8Array.of(1, 2, 3), 'E_MAGIC'],
    ['wrong magic', () => Uint8Array.from(good, (b, i) => (i === 0 ? 0x50 : b)), 'E_MAGIC'],
    ['truncated payload', () => good.subarray(0, good.length - 1), 'E_TRUNCATED'],
    ['header only', () => good.subarray(0, 32), 'E_TRUNCATED'],
    ['trailing bytes', () => Uint8Array.from([...good, 0]), 'E_TRAILING_DATA'],
    ['unknown container version', () => Uint8Array.from(good, (b, i) => (i === 4 ? 9 : b)), 'E_UNSUPPORTED_FORMAT'],
    ['unknown compression', () => Uint8Array.from(good, (b, i) => (i === 6 ? 7 : b)), 'E_UNSUPPORTED_FORMAT'],
    ['body CRC mismatch', () => qwmContainer(body([entry()]), { crc: 1 }), 'E_CHECKSUM'],
    ['declared body beyond DEFLATE ratio (bomb)', () => qwmContainer(body([entry()]), { deflate: true, rawLen: 2 ** 31 - 1 }), 'E_DECOMPRESSED_SIZE'],
    ['stream inflates past the declared size (lying small size)', () => qwmContainer(new Uint8Array(1 << 20), { deflate: true, rawLen: 1000 }), 'E_DECOMPRESSED_SIZE'],
    ['stream ends before the declared size', () => qwmContainer(body([entry()]), { deflate: true, rawLen: 5000 }), 'E_DECOMPRESSED_SIZE'],
    ['stored body length != payload', () => qwmContainer(body([entry()]), { rawLen: 3 }), 'E_BYTECOUNT'],
    ['msgpack array32 amplification (1e6 declared elements)', () => qwmContainer(Uint8Array.from([0xdd, 0x00, 0x0f, 0x42, 0x40, 0x90])), 'E_TRUNCATED'],
    ['msgpack nesting bomb (depth 1000)', () => qwmContainer(Uint8Array.from([...new Array(1000).fill(0x91), 0xc0])), 'E_LIMIT'],
    ['msgpack ext type', () => qwmContainer(Uint8Array.from([0xd4, 0x01, 0x00])), 'E_SYNTAX'],
    ['msgpack trailing value', () => qwmContainer(Uint8Array.from([...body([entry()]), 0xc0])), 'E_TRAILING_DATA'],
    ['format is not quantwm', () => qwmContainer(body([entry()], { format: 'other' })), 'E_MAGIC'],
    ['unknown body version', () => qwmContainer(body([entry()], { version: 2 })), 'E_UNSUPPORTED_FORMAT'],
    ['extra body key', () => qwmContainer(body([entry()], { extra: 1 })), 'E_SYNTAX'],
    ['unknown dtype', () => qwmContainer(body([entry({ dtype: 'f16' })])), 'E_DTYPE'],
    ['shape / byte count disagree', () => qwmContainer(body([entry({ shape: [3] })])), 'E_BYTECOUNT'],
    ['data length / byte count disagree', () => qwmContainer(body([entry({ bytes: 8, data: new Uint8Array(4) })])), 'E_BYTECOUNT'],
    ['negative dimension', () => qwmContainer(body([entry({ shape: [-2] })])), 'E_SHAPE'],
    ['overflowing shape', () => qwmContainer(body([entry({ shape: [2 ** 40, 2 ** 40] })])), 'E_SHAPE'],
    ['tensor checksum mismatch', () => qwmContainer(body([entry({ checksum: 7 })])), 'E_CHECKSUM'],
    ['duplicate tensor name', () => qwmContainer(body([entry(), entry()])), 'E_DUPLICATE_KEY'],
    ['packed odd count with non-zero pad nibble', () => qwmContainer(body([entry({ dtype: 'u4', shape: [1], bytes: 1, data: Uint8Array.of(0x31), checksum: crc32(Uint8Array.of(0x31)) })])), 'E_BYTECOUNT'],
    ['config holds binary data', () => qwmContainer(body([entry()], { config: { x: new Uint8Array(2) } })), 'E_CONFIG'],
  ])('%s', (_what, make, want) => {
    expect(code(() => readQwm(make()))).toBe(want);
  });

  it('NaN/Inf in f32 weights: NonFiniteError naming the tensor and index (read and write)', () => {
    const d = new Float32Array([1, 2, Infinity]);
    expect(() => writeQwm({ tensors: { 'enc.w': tensor(d) } })).toThrow(NonFiniteError);
    const bytes = writeQwm({ tensors: { 'enc.w': tensor(d) } }, { allowNonFinite: true });
    let err: unknown;
    try {
      readQwm(bytes, { file: 'm.qwm' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err).toMatchObject({ code: 'E_NONFINITE', tensor: 'enc.w', index: 2, value: Infinity, file: 'm.qwm' });
    expect(readQwm(bytes, { allowNonFinite: true }).tensors.get('enc.w')!.at(2)).toBe(Infinity);
    const nan = writeQwm({ tensors: { a: tensor([0]), b: tensor([5, NaN]) } }, { allowNonFinite: true });
    expect(() => readQwm(nan)).toThrow(/'b' holds NaN at flat index 1/);
  });

  it('the decompression cap (maxBytes) and the allocation budget (maxAllocBytes) are enforced before allocating', () => {
    const big = writeQwm({ tensors: { z: tensor(new Float32Array(1 << 16)) } });
    expect(big.length).toBeLessThan(2000);
    expect(code(() => readQwm(big, { maxBytes: 1 << 16 }))).toBe('E_DECOMPRESSED_SIZE');
    expect(code(() => readQwm(big, { maxAllocBytes: 1 << 16 }))).toBe('E_LIMIT');
    expect(readQwm(big).tensors.get('z')!.size).toBe(1 << 16);
  });

  it('writer refuses non-plain config and bad levels', () => {
    expect(code(() => writeQwm({ tensors: {}, config: { f: new Uint8Array(1) } }))).toBe('E_CONFIG');
    expect(code(() => writeQwm({ tensors: {}, meta: { x: NaN } }))).toBe('E_CONFIG');
    expect(code(() => writeQwm({ tensors: {} }, { level: 11 }))).toBe('E_CONFIG');
  });
});
