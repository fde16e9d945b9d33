/**
 * The 4-bit kernels equal their twins bit for bit (INT_GEMM_VS_REF = 0):
 *   gemm_i8i4_f32__mr4_nr8_kc4__simd128_dot16 == gemmW4A8Ref  (exact group dots, same f32 order)
 *   gemm_f32i4_f32__mr4_nr8__simd128          == gemmW4A16Ref (same dequantized w, k ascending)
 * over shapes around the 4×8 tile, group sizes that divide K and that do not (odd K, so rows
 * straddle nibble bytes), i4 and u4 codes, saturating codes, 1 and 2 threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../../src/tensor/rng.js';
import { setThreads, shutdownThreads } from '../../../src/tensor/threads/pool.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';
import { ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { gemmW4A16Ref, gemmW4A8Ref, type Int4Weights } from '../../../src/tensor/wasm/int4/ref.js';
import { i4PanelBytes } from '../../../src/tensor/wasm/int4/layout.js';
import { gemmW4A16, gemmW4A8, packI4, unpackI4 } from '../../../src/tensor/wasm/int4/gemm.js';
import { GEMM_W4A16_SPEC, GEMM_W4A8_SPEC } from '../../../src/tensor/wasm/int4/emit.js';
import { kernelName } from '../../../src/tensor/wasm/spec.js';
import { heap } from '../../../src/tensor/wasm/heap.js';
import { AWKWARD, aroundTile, expectBitExact, genActivations, genF32, genInt4Weights, type Fill } from './int-gen.js';


// A real 2-thread pool for the whole file; `threads` in a case is the number of output-tile
// tasks the call is cut into (1 = one task; 2, 3 = dynamic claiming by the two threads).
beforeAll(() => {
  expect(setThreads(2, nodeWorkers)).toBe(2);
});
afterAll(() => shutdownThreads());

const W4A8 = kernelName(GEMM_W4A8_SPEC);
const W4A16 = kernelName(GEMM_W4A16_SPEC);

interface Case {
  M: number;
  K: number;
  N: number;
  G: number;
  seed: number;
  signed: boolean;
  unsigned: boolean;
  perRow: boolean;
  zA: boolean;
  bias: boolean;
  fill: Fill;
  threads: number;
}

function runCase(c: Case): void {
  const rng = new Rng(c.seed);
  const w = genInt4Weights(rng, c.N, c.K, c.G, c.signed, c.fill);
  const a = genActivations(rng, c.M, c.K, { unsigned: c.unsigned, perRow: c.perRow, zeroPoints: c.zA, fill: c.fill });
  const x = genF32(rng, c.M * c.K);
  const bias = c.bias ? genF32(rng, c.N) : null;
  const dims = `M×N×K=${c.M}×${c.N}×${c.K} G=${c.G} MR×NR=4×8 ${JSON.stringify({ ...c, M: undefined, N: undefined, K: undefined })}`;
  const p = packI4(w);
  try {
    const ref = new Float32Array(c.M * c.N);
    const got = new Float32Array(c.M * c.N).fill(NaN);
    gemmW4A8Ref(a, w, bias, ref);
    gemmW4A8(a, p, bias, got, { tasks: c.threads });
    expectBitExact(W4A8, dims, ref, got);
    gemmW4A16Ref(c.M, x, w, bias, ref);
    got.fill(NaN);
    gemmW4A16(c.M, x, p, bias, got, { tasks: c.threads });
    expectBitExact(W4A16, dims, ref, got);
  } finally {
    p.free();
  }
}

const flags = {
  seed: fc.nat(),
  signed: fc.boolean(),
  unsigned: fc.boolean(),
  perRow: fc.boolean(),
  zA: fc.boolean(),
  bias: fc.boolean(),
  fill: fc.constantFrom<Fill>('random', 'extreme'),
  threads: fc.constantFrom(1, 2, 3),
};

describe(`${W4A8} and ${W4A16} == twins (INT_GEMM_VS_REF = 0, bit-exact)`, () => {
  it('M around mr=4, N around nr=8, K around G (G | K and G ∤ K, odd K), G ∈ {2, 6, 16, 32, 64, 128}', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.record({ M: fc.constantFrom(...aroundTile(4)), N: fc.constantFrom(...aroundTile(8)), G: fc.constantFrom(2, 6, 16, 32, 64, 128), kMul: fc.constantFrom(1, 2, 3), kOff: fc.constantFrom(-1, 0, 1), ...flags }),
        ({ kMul, kOff, ...c }) => {
          runs++;
          runCase({ ...c, K: Math.max(1, kMul * c.G + kOff) });
        },
      ),
      { numRuns: 100, seed: 0x48 },
    );
    expect(runs).toBe(100);
  });

  for (const dim of ['M', 'N', 'K'] as const) {
    it(`awkward ${dim} ∈ {${AWKWARD.join(', ')}} with the other dims small, G ∈ {32, 128}`, () => {
      let runs = 0;
      fc.assert(
        fc.property(fc.constantFrom(...AWKWARD), fc.constantFrom(1, 5), fc.constantFrom(7, 9), fc.constantFrom(32, 128), fc.record(flags), (d, m, n, G, f) => {
          runs++;
          runCase({ ...f, G, M: m, N: n, K: 33, [dim]: d });
        }),
        { numRuns: 15, seed: 0x49 },
      );
      expect(runs).toBe(15);
    });
  }
});

describe(`${W4A16}: float edge values`, () => {
  it('activations with ±0, subnormals and magnitudes up to 2^60 stay bit-exact (incl. -0 outputs)', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.constantFrom(1, 5), fc.constantFrom(7, 9), fc.constantFrom(3, 33), fc.nat(), (M, N, K, seed) => {
        runs++;
        const rng = new Rng(seed);
        const w = genInt4Weights(rng, N, K, 16, rng.int(2) === 1, 'random');
        const x = new Float32Array(M * K).map(() => {
          const u = rng.int(6);
          if (u === 0) return rng.int(2) ? 0 : -0;
          if (u === 1) return (rng.int(2) ? 1 : -1) * 2 ** -(127 + rng.int(22)); // subnormal
          if (u === 2) return (rng.int(2) ? 1 : -1) * 2 ** (20 + rng.int(40));
          return rng.normal();
        });
        const p = packI4(w);
        const ref = new Float32Array(M * N);
        const got = new Float32Array(M * N);
        gemmW4A16Ref(M, x, w, null, ref);
        gemmW4A16(M, x, p, null, got);
        p.free();
        expectBitExact(W4A16, `M×N×K=${M}×${N}×${K} seed=${seed}`, ref, got);
      }),
      { numRuns: 40, seed: 0x4c },
    );
    expect(runs).toBe(40);
  });
});

describe('heap-resident output', () => {
  it('out views on the kernel heap are written in place and equal the copied results', () => {
    const rng = new Rng(9);
    const w = genInt4Weights(rng, 9, 40, 16, false, 'random');
    const a = genActivations(rng, 5, 40, { unsigned: false, perRow: true, zeroPoints: false, fill: 'random' });
    const x = genF32(rng, 200);
    const p = packI4(w);
    const h = heap();
    const ptr = h.alloc(45 * 4);
    try {
      const r8 = new Float32Array(45);
      const r16 = new Float32Array(45);
      gemmW4A8(a, p, null, r8);
      gemmW4A16(5, x, p, null, r16);
      gemmW4A8(a, p, null, new Float32Array(h.buffer, ptr, 45));
      expectBitExact(W4A8, 'heap out', r8, new Float32Array(h.buffer, ptr, 45));
      gemmW4A16(5, x, p, null, new Float32Array(h.buffer, ptr, 45));
      expectBitExact(W4A16, 'heap out', r16, new Float32Array(h.buffer, ptr, 45));
    } finally {
      h.release(ptr);
      p.free();
    }
  });
});

describe('4-bit panel layout', () => {
  it('bytes = ceil(N/8)·ceil(K/G)·(48 + 16·ceil(G/4))', () => {
    for (const [N, K, G] of [[1, 1, 2], [8, 32, 32], [9, 33, 32], [1152, 384, 128], [17, 1537, 6]]) {
      expect(i4PanelBytes(N, K, G)).toBe(Math.ceil(N / 8) * Math.ceil(K / G) * (48 + 16 * Math.ceil(G / 4)));
    }
  });
  it('pack/unpack round-trips codes, scales and zero points (odd K: rows straddle bytes)', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 7, 9), fc.constantFrom(1, 3, 17, 33), fc.constantFrom(2, 4, 6, 32), fc.boolean(), fc.nat(), (N, K, G, signed, seed) => {
        const w = genInt4Weights(new Rng(seed), N, K, G, signed, 'random');
        const p = packI4(w);
        const back = unpackI4(p);
        p.free();
        expect(Array.from(back.codes)).toEqual(Array.from(w.codes));
        expect(Array.from(back.scales)).toEqual(Array.from(w.scales));
        expect(back.zeros === null ? null : Array.from(back.zeros)).toEqual(w.zeros === null ? null : Array.from(w.zeros));
      }),
      { numRuns: 30, seed: 0x4a },
    );
  });
});

describe('4-bit input checks name the field', () => {
  const w = genInt4Weights(new Rng(5), 3, 8, 4, false, 'random');
  it('bad group size, byte counts, zero-point presence -> ValueError/ShapeError', () => {
    expect(() => packI4({ ...w, groupSize: 3 })).toThrow(/groupSize must be an even integer/);
    expect(() => packI4({ ...w, codes: new Uint8Array(11) })).toThrow(ShapeError);
    expect(() => packI4({ ...w, signed: true })).toThrow(/zeros must be null/);
    expect(() => packI4({ ...w, zeros: null } as Int4Weights)).toThrow(/need zeros/);
    expect(() => packI4({ ...w, zeros: new Uint8Array(6).fill(16) })).toThrow(/W.zeros\[0\] = 16/);
    expect(() => packI4({ ...w, scales: new Float32Array(6).fill(NaN) })).toThrow(ValueError);
  });
  it('K mismatch, x length, freed weights', () => {
    const p = packI4(w);
    const a = genActivations(new Rng(1), 2, 7, { unsigned: false, perRow: false, zeroPoints: false, fill: 'random' });
    expect(() => gemmW4A8(a, p, null, new Float32Array(6))).toThrow(/K differs/);
    expect(() => gemmW4A16(2, new Float32Array(15), p, null, new Float32Array(6))).toThrow(/x has length 15/);
    p.free();
    expect(() => gemmW4A16(2, new Float32Array(16), p, null, new Float32Array(6))).toThrow(/freed/);
  });
});
