/**
 * Mutation fuzzing of every reader, starting from valid files: bit flips, truncations,
 * insertions, deletions and overwrites of length-sized fields with boundary values. For every
 * mutant the reader must either return or throw a FormatError (nothing else), and the bytes it
 * allocates (counted independently by wrapping the global typed-array constructors) must stay
 * within the bound derived from the file size: the reader's default budget plus 64 KiB of fixed
 * overhead (CRC table, scratch), or `maxAllocBytes` plus the same overhead when that is tighter.
 * Hangs would show as a vitest timeout; no timing is asserted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { qwmAllocBound, writeQwm } from '../../src/io/qwm.js';
import { safetensorsAllocBound, writeSafetensors } from '../../src/io/safetensors.js';
import { torchAllocBound } from '../../src/io/torch.js';
import { loadWeights } from '../../src/io/weights.js';
import { ZipArchive } from '../../src/io/zip.js';
import { intTensor, tensor } from '../../src/tensor/tensor.js';
import { AllocBudget } from '../../src/io/bytes.js';
import { countAllocations, fixture, isFormatError, qwmContainer, writeZip } from './helpers.js';

const OVERHEAD = 64 * 1024;

type Mutation =
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'truncate'; len: number }
  | { kind: 'insert'; pos: number; bytes: number[] }
  | { kind: 'delete'; pos: number; n: number }
  | { kind: 'field'; pos: number; width: 1 | 2 | 4 | 8; value: number };

const INTERESTING = [0, 1, 7, 8, 63, 64, 127, 128, 255, 256, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, 2 ** 53 - 1];

const arbMutation = (len: number): fc.Arbitrary<Mutation> => {
  const pos = fc.integer({ min: 0, max: Math.max(0, len - 1) });
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), pos, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), len: fc.integer({ min: 0, max: len }) }),
    fc.record({ kind: fc.constant('insert' as const), pos, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), pos, n: fc.integer({ min: 1, max: 16 }) }),
    fc.record({
      kind: fc.constant('field' as const),
      pos,
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      value: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: len + 64 })),
    }),
  );
};

function apply(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Uint8Array.from(src);
  for (const m of muts) {
    switch (m.kind) {
      case 'flip':
        if (m.pos < b.length) b[m.pos] ^= 1 << m.bit;
        break;
      case 'truncate':
        b = b.subarray(0, Math.min(m.len, b.length));
        break;
      case 'insert': {
        const p = Math.min(m.pos, b.length);
        b = Uint8Array.from([...b.subarray(0, p), ...m.bytes, ...b.subarray(p)]);
        break;
      }
      case 'delete': {
        const p = Math.min(m.pos, b.length);
        b = Uint8Array.from([...b.subarray(0, p), ...b.subarray(p + m.n)]);
        break;
      }
      case 'field': {
        let v = m.value;
        for (let i = 0; i < m.width && m.pos + i < b.length; i++) {
          b[m.pos + i] = v % 256;
          v = Math.floor(v / 256);
        }
        break;
      }
    }
  }
  // a fresh buffer at offset 0, like a file read
  return Uint8Array.from(b);
}

function defaultBound(bytes: Uint8Array, kind: 'qwm' | 'safetensors' | 'torch'): number {
  if (kind === 'qwm') return qwmAllocBound(bytes.length);
  if (kind === 'safetensors') return safetensorsAllocBound(bytes.length);
  let inflated = 0;
  try {
    inflated = ZipArchive.open(bytes, {}).inflatedBytes;
  } catch {
    inflated = 0;
  }
  return torchAllocBound(bytes.length, inflated);
}

const qwmSeed = (level: number): Uint8Array =>
  writeQwm(
    {
      config: { actionEncoder: { inDim: 3, embDim: 2 } },
      tensors: {
        'action_encoder.weight': tensor([1, 2, 3, 4, 5, 6], [2, 3]),
        'action_encoder.bias': tensor([0.5, -0.5]),
        'extra.q': intTensor('i4', [1, -2, 3, -4, 5]),
        'extra.i': intTensor('i32', [7, -7]),
      },
      meta: { source: 'fuzz', n: 3 },
    },
    { level },
  );

const SEEDS: Array<[string, 'qwm' | 'safetensors' | 'torch', () => Uint8Array]> = [
  ['qwm (deflate)', 'qwm', () => qwmSeed(6)],
  ['qwm (stored)', 'qwm', () => qwmSeed(0)],
  ['safetensors (dtype coverage, torch-made)', 'safetensors', () => fixture('dtypes.safetensors')],
  ['safetensors (our writer)', 'safetensors', () => writeSafetensors({ a: tensor([1, 2, 3]), b: intTensor('i8', [1, -1]) }, { k: 'v' })],
  ['torch state_dict, protocol 4', 'torch', () => fixture('state_p4.pth')],
  ['torch views and dtypes', 'torch', () => fixture('views_dtypes.pth')],
  ['torch deflated 2.x archive', 'torch', () => fixture('archive_deflate.pth')],
  ['torch placeholder object', 'torch', () => fixture('placeholder.pth')],
];

describe.each(SEEDS)('fuzz %s', (_name, kind, seed) => {
  const src = seed();

  it('the seed itself reads', () => {
    expect(loadWeights(src).tensors.size).toBeGreaterThan(0);
  });

  it('mutants: only FormatError, allocations within the file-size bound', () => {
    let runs = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(arbMutation(src.length), { minLength: 1, maxLength: 3 }), (muts) => {
        runs++;
        const bytes = apply(src, muts);
        const bound = defaultBound(bytes, kind);
        const r = countAllocations(() => loadWeights(bytes));
        if (r.error !== undefined) {
          if (!isFormatError(r.error)) throw r.error;
          refused++;
        }
        expect(r.bytes).toBeLessThanOrEqual(bound + OVERHEAD);
      }),
      { numRuns: 250 },
    );
    expect(runs).toBe(250);
    expect(refused).toBeGreaterThan(0);
  });

  it('with maxAllocBytes = file size, mutants stay within that budget too', () => {
    fc.assert(
      fc.property(fc.array(arbMutation(src.length), { minLength: 1, maxLength: 2 }), (muts) => {
        const bytes = apply(src, muts);
        const r = countAllocations(() => loadWeights(bytes, { maxAllocBytes: bytes.length }));
        if (r.error !== undefined && !isFormatError(r.error)) throw r.error;
        expect(r.bytes).toBeLessThanOrEqual(bytes.length + OVERHEAD);
      }),
      { numRuns: 80 },
    );
  });
});

describe('fuzz behind the checksums (mutate the inner bytes, then re-wrap validly)', () => {
  it('qwm: mutated msgpack bodies in a container whose CRC matches', () => {
    const seed = qwmSeed(0);
    const body = seed.subarray(32);
    let refused = 0;
    fc.assert(
      fc.property(fc.array(arbMutation(body.length), { minLength: 1, maxLength: 3 }), (muts) => {
        const bytes = qwmContainer(apply(body, muts));
        const r = countAllocations(() => loadWeights(bytes));
        if (r.error !== undefined) {
          if (!isFormatError(r.error)) throw r.error;
          refused++;
        }
        expect(r.bytes).toBeLessThanOrEqual(qwmAllocBound(bytes.length) + OVERHEAD);
      }),
      { numRuns: 300 },
    );
    expect(refused).toBeGreaterThan(0);
  });

  it.each(['state_p4.pth', 'views_dtypes.pth', 'model_latest.pth'])('torch: mutated data.pkl of %s in a valid zip', (name) => {
    const zip = ZipArchive.open(fixture(name), {});
    const prefix = zip.names[0].split('/')[0];
    const budget = new AllocBudget(1e8);
    const entries = zip.names.map((n) => ({ name: n, data: zip.read(n, budget) }));
    const pkl = entries.find((e) => e.name.endsWith('/data.pkl'))!;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(arbMutation(pkl.data.length), { minLength: 1, maxLength: 3 }), (muts) => {
        const bytes = writeZip(entries.map((e) => (e === pkl ? { name: e.name, data: apply(pkl.data, muts) } : e)));
        const r = countAllocations(() => loadWeights(bytes));
        if (r.error !== undefined) {
          if (!isFormatError(r.error)) throw r.error;
          refused++;
        }
        expect(r.bytes).toBeLessThanOrEqual(torchAllocBound(bytes.length) + OVERHEAD);
      }),
      { numRuns: name === 'model_latest.pth' ? 60 : 250 },
    );
    expect(refused).toBeGreaterThan(0);
    expect(prefix.length).toBeGreaterThan(0);
  });
});

describe('fuzz: random bytes behind each magic', () => {
  it('detectFormat + readers refuse arbitrary bytes with FormatError only', () => {
    const prefixes = [[], [0x51, 0x57, 0x4d, 0x46, 1, 0, 1, 0], [0x50, 0x4b, 0x03, 0x04], [0x10, 0, 0, 0, 0, 0, 0, 0, 0x7b], [0x80, 0x02]];
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 200 }), (prefix, tail) => {
        const bytes = Uint8Array.from([...prefix, ...tail]);
        const r = countAllocations(() => loadWeights(bytes));
        if (r.error !== undefined && !isFormatError(r.error)) throw r.error;
        expect(r.bytes).toBeLessThanOrEqual(qwmAllocBound(bytes.length) + OVERHEAD);
      }),
      { numRuns: 400 },
    );
  });
});

describe('the allocation counter itself', () => {
  it('sees allocations made by reader code (so the bounds above are not vacuous)', () => {
    const src = qwmSeed(6);
    const r = countAllocations(() => loadWeights(src));
    expect(r.error).toBeUndefined();
    // body buffer + four tensors' storage at least
    expect(r.bytes).toBeGreaterThan(24 + 8 + 3 + 8);
    const a = countAllocations(() => new Float32Array(1000));
    expect(a.bytes).toBe(4000);
    expect(a.result).toBeInstanceOf(Float32Array);
  });
});
