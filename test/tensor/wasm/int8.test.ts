/**
 * gemm_i8i8_f32__mr4_nr8_kc2__simd128_dot16 == gemmI8Ref bit for bit (INT_GEMM_VS_REF = 0:
 * integers exact, the same float32 epilogue ops in the same order), over shapes drawn around
 * the 4×8 tile and the 16-code widening step, the awkward sizes one at a time, signed and
 * unsigned activations, per-tensor and per-row parameters, saturating codes, 1 and 2 threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../../src/tensor/rng.js';
import { setThreads, shutdownThreads } from '../../../src/tensor/threads/pool.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';
import { ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { gemmI8Ref, integerPartI8Ref, MAX_K_I8, type Int8Weights } from '../../../src/tensor/wasm/int8/ref.js';
import { i8PanelBytes, packI8Host, unpackI8Host } from '../../../src/tensor/wasm/int8/layout.js';
import { gemmI8, packI8, unpackI8 } from '../../../src/tensor/wasm/int8/gemm.js';
import { kernelName } from '../../../src/tensor/wasm/spec.js';
import { heap } from '../../../src/tensor/wasm/heap.js';
import { KernelError } from '../../../src/tensor/wasm/compile.js';
import { compareWithTwin, setIntValidate } from '../../../src/tensor/wasm/int8/validate.js';
import { GEMM_I8_SPEC, GEMM_I8_W8_SPEC } from '../../../src/tensor/wasm/int8/emit.js';
import { AWKWARD, aroundTile, expectBitExact, genActivations, genF32, genInt8Weights, type Fill } from './int-gen.js';


// A real 2-thread pool for the whole file; `threads` in a case is the number of output-tile
// tasks the call is cut into (1 = one task; 2, 3 = dynamic claiming by the two threads).
beforeAll(() => {
  expect(setThreads(2, nodeWorkers)).toBe(2);
});
afterAll(() => shutdownThreads());

const NAME = kernelName(GEMM_I8_SPEC);
const NAME_W8 = kernelName(GEMM_I8_W8_SPEC);
const SPECS = { 2: GEMM_I8_SPEC, 1: GEMM_I8_W8_SPEC } as const;

interface Case {
  M: number;
  K: number;
  N: number;
  seed: number;
  unsigned: boolean;
  perRow: boolean;
  zA: boolean;
  zW: boolean;
  bias: boolean;
  fill: Fill;
  threads: number;
  /** panel bytes per code: 2 (default kernel) or 1 (int8 panels) */
  wb: 1 | 2;
}

function runCase(c: Case): void {
  const rng = new Rng(c.seed);
  const a = genActivations(rng, c.M, c.K, { unsigned: c.unsigned, perRow: c.perRow, zeroPoints: c.zA, fill: c.fill });
  const w = genInt8Weights(rng, c.N, c.K, c.zW, c.fill);
  const bias = c.bias ? genF32(rng, c.N) : null;
  const ref = new Float32Array(c.M * c.N);
  gemmI8Ref(a, w, bias, ref);
  const p = packI8(w, SPECS[c.wb]);
  try {
    const got = new Float32Array(c.M * c.N).fill(NaN);
    gemmI8(a, p, bias, got, { tasks: c.threads });
    expectBitExact(kernelName(SPECS[c.wb]), `M×N×K=${c.M}×${c.N}×${c.K} MR×NR×KC=4×8×2 ${JSON.stringify({ ...c, M: undefined, N: undefined, K: undefined })}`, ref, got);
  } finally {
    p.free();
  }
}

const flags = {
  seed: fc.nat(),
  unsigned: fc.boolean(),
  perRow: fc.boolean(),
  zA: fc.boolean(),
  zW: fc.boolean(),
  bias: fc.boolean(),
  fill: fc.constantFrom<Fill>('random', 'extreme'),
  threads: fc.constantFrom(1, 2, 3),
  wb: fc.constantFrom<1 | 2>(1, 2),
};

describe(`${NAME} and ${NAME_W8} == gemmI8Ref (INT_GEMM_VS_REF = 0, bit-exact)`, () => {
  it('M around mr=4, N around nr=8, K around the 16-code widening step (kc=2)', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.record({ M: fc.constantFrom(...aroundTile(4)), N: fc.constantFrom(...aroundTile(8)), K: fc.constantFrom(...aroundTile(16), 2, 3), ...flags }), (c) => {
        runs++;
        runCase(c);
      }),
      { numRuns: 120, seed: 0x18 },
    );
    expect(runs).toBe(120);
  });

  for (const dim of ['M', 'N', 'K'] as const) {
    it(`awkward ${dim} ∈ {${AWKWARD.join(', ')}} with the other dims small`, () => {
      let runs = 0;
      fc.assert(
        fc.property(fc.constantFrom(...AWKWARD), fc.constantFrom(1, 5), fc.constantFrom(7, 9), fc.record(flags), (d, m, n, f) => {
          runs++;
          const dims = { M: m, N: n, K: 17, [dim]: d };
          runCase({ ...f, ...dims });
        }),
        { numRuns: 18, seed: 0x19 },
      );
      expect(runs).toBe(18);
    });
  }

  it('saturating extremes: all codes at -128/127/255 with zero points at the opposite end, K = 1537', () => {
    const K = 1537;
    for (const unsigned of [false, true]) {
      const M = 5;
      const N = 9;
      const data = unsigned ? new Uint8Array(M * K).fill(255) : new Int8Array(M * K).fill(-128);
      const a = { data, M, K, scales: Float32Array.of(0.5), zeros: Int32Array.of(unsigned ? 0 : 127) };
      const w: Int8Weights = { data: new Int8Array(N * K).fill(-128), N, K, scales: new Float32Array(N).fill(2), zeros: new Int32Array(N).fill(127) };
      // |c| = K·255·255 per element: the largest magnitude this K allows
      expect(Math.abs(integerPartI8Ref(a, w)[0])).toBe(K * 255 * 255);
      const ref = new Float32Array(M * N);
      gemmI8Ref(a, w, null, ref);
      for (const spec of [GEMM_I8_SPEC, GEMM_I8_W8_SPEC]) {
        const got = new Float32Array(M * N);
        const p = packI8(w, spec);
        gemmI8(a, p, null, got);
        p.free();
        expectBitExact(kernelName(spec), `saturating unsigned=${unsigned}`, ref, got);
      }
    }
  });

  it('-0 survives without bias and becomes +0 with a zero bias (no hidden "+0")', () => {
    const a = { data: Int8Array.of(0, 0), M: 1, K: 2, scales: Float32Array.of(1), zeros: null };
    const w: Int8Weights = { data: Int8Array.of(1, 1), N: 1, K: 2, scales: Float32Array.of(-1), zeros: null };
    const p = packI8(w);
    const y = new Float32Array(1);
    gemmI8(a, p, null, y);
    expect(Object.is(y[0], -0)).toBe(true);
    gemmI8(a, p, Float32Array.of(0), y);
    expect(Object.is(y[0], 0)).toBe(true);
    p.free();
  });
});

describe('QWM_VALIDATE for the integer kernels', () => {
  it('with validation on, calls re-run the twin and pass; a differing bit throws KernelError naming (m, n)', () => {
    const rng = new Rng(11);
    const a = genActivations(rng, 5, 17, { unsigned: false, perRow: true, zeroPoints: true, fill: 'random' });
    const w = genInt8Weights(rng, 9, 17, true, 'random');
    const p = packI8(w);
    setIntValidate(true);
    try {
      gemmI8(a, p, null, new Float32Array(45));
    } finally {
      setIntValidate(null);
      p.free();
    }
    const twin = Float32Array.of(1, 2, 3, 4);
    expect(() => compareWithTwin(NAME, 2, 2, 3, Float32Array.of(1, 2, 3, -4), twin)).toThrow(KernelError);
    expect(() => compareWithTwin(NAME, 2, 2, 3, Float32Array.of(1, 2, -0, 4), Float32Array.of(1, 2, 0, 4))).toThrow(/out\[1,0\]/);
  });
});

describe('heap-resident output', () => {
  it('an out view on the kernel heap is written in place and equals the copied result', () => {
    const rng = new Rng(9);
    const a = genActivations(rng, 5, 33, { unsigned: true, perRow: false, zeroPoints: true, fill: 'random' });
    const w = genInt8Weights(rng, 9, 33, false, 'random');
    const p = packI8(w);
    const ref = new Float32Array(45);
    gemmI8(a, p, null, ref);
    const h = heap();
    const ptr = h.alloc(45 * 4);
    try {
      gemmI8(a, p, null, new Float32Array(h.buffer, ptr, 45));
      expectBitExact(NAME, 'heap out', ref, new Float32Array(h.buffer, ptr, 45));
    } finally {
      h.release(ptr);
      p.free();
    }
  });
});

describe('int8 panel layout', () => {
  it('bytes = ceil(N/8)·ceil(K/2)·16·wb', () => {
    for (const wb of [1, 2] as const) {
      for (const [N, K] of [[1, 1], [8, 2], [9, 3], [1152, 384], [17, 1537]]) expect(i8PanelBytes(N, K, wb)).toBe(Math.ceil(N / 8) * Math.ceil(K / 2) * 16 * wb);
    }
  });
  it('pack/unpack round-trips the codes, scales and zero points (host and heap)', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 7, 8, 9, 17), fc.constantFrom(1, 2, 3, 17), fc.boolean(), fc.constantFrom<1 | 2>(1, 2), fc.nat(), (N, K, zW, wb, seed) => {
        const w = genInt8Weights(new Rng(seed), N, K, zW, 'extreme');
        expect(Array.from(unpackI8Host(packI8Host(w, wb)))).toEqual(Array.from(w.data));
        const p = packI8(w, SPECS[wb]);
        const back = unpackI8(p);
        p.free();
        expect(Array.from(back.data)).toEqual(Array.from(w.data));
        expect(Array.from(back.scales)).toEqual(Array.from(w.scales));
        expect(back.zeros === null ? null : Array.from(back.zeros)).toEqual(w.zeros === null ? null : Array.from(w.zeros));
      }),
      { numRuns: 30, seed: 0x1a },
    );
  });
});

describe('gemmI8 input checks name the field', () => {
  const rng = new Rng(3);
  const w = genInt8Weights(rng, 3, 4, false, 'random');
  const a = genActivations(rng, 2, 4, { unsigned: false, perRow: false, zeroPoints: false, fill: 'random' });
  const out = new Float32Array(6);
  it('K mismatch, bad out/bias lengths, bad scale counts -> ShapeError', () => {
    const p = packI8(w);
    expect(() => gemmI8({ ...a, K: 5, data: new Int8Array(10) }, p, null, out)).toThrow(ShapeError);
    expect(() => gemmI8(a, p, null, new Float32Array(5))).toThrow(/out has length 5/);
    expect(() => gemmI8(a, p, new Float32Array(2), out)).toThrow(/bias has length 2/);
    expect(() => gemmI8({ ...a, scales: new Float32Array(3) }, p, null, out)).toThrow(/A.scales has length 3/);
    expect(() => packI8({ ...w, K: MAX_K_I8 + 1 })).toThrow(ShapeError);
    p.free();
  });
  it('NaN scale, zero point outside the code range, freed weights -> ValueError', () => {
    const p = packI8(w);
    expect(() => gemmI8({ ...a, scales: Float32Array.of(NaN) }, p, null, out)).toThrow(/A.scales\[0\] is NaN/);
    expect(() => gemmI8({ ...a, zeros: Int32Array.of(200) }, p, null, out)).toThrow(ValueError);
    expect(() => packI8({ ...w, scales: Float32Array.of(1, Infinity, 1) })).toThrow(/W.scales\[1\]/);
    expect(() => packI8({ ...w, zeros: Int32Array.of(0, 0, 128) })).toThrow(/W.zeros\[2\] = 128/);
    p.free();
    expect(() => gemmI8(a, p, null, out)).toThrow(/freed/);
  });
});
