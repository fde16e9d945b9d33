/**
 * Catalog entries of the f32 GEMM family (see ../catalog.ts): the default kernel (4x8 tile,
 * packed A), and two small-block variants that exercise every blocking path (several
 * k-blocks, partial row blocks, edge tiles, k unrolled with a remainder loop) at test-sized
 * shapes: 3x16 with A read in place, 4x8 with packed A.
 */
import { Rng } from '../../rng.js';
import type { KernelEntry, KernelSpec } from '../spec.js';
import { GEMM_F32_SPEC, gemmF32Wasm, gemmPacked, packB, setGemmF32Spec } from './api.js';
import { emitGemmF32 } from './gemm.js';
import { gemmF32Twin } from './ref.js';

export interface GemmF32Case {
  M: number;
  N: number;
  K: number;
  /** (M, K) */
  A: Float32Array;
  /** (N, K) when transB else (K, N) */
  B: Float32Array;
  transB: boolean;
  /** (N) or null */
  bias: Float32Array | null;
  /** 'packed': packB + gemmPacked (the Linear path); 'seam': gemmF32Wasm (ops.matmul) */
  path: 'packed' | 'seam';
}

export const GEMM_F32_SMALL_SPEC: KernelSpec = {
  op: 'gemm',
  types: 'f32',
  tile: { mr: 3, nr: 16, kc: 16, mc: 6, ku: 2 },
  isa: 'simd128',
  overreadBytes: 0,
};

/** Values that stress rounding: uniform [-1,1], signed zeros, and wide exponents. */
function fill(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    if (u < 0.03) a[i] = rng.uniform() < 0.5 ? 0 : -0;
    else if (u < 0.08) a[i] = (rng.uniform() * 2 - 1) * 2 ** (rng.int(41) - 20);
    else a[i] = rng.uniform() * 2 - 1;
  }
  return a;
}

function gemmF32Entry(spec: KernelSpec): KernelEntry<GemmF32Case> {
  return {
    spec,
    emit: emitGemmF32,
    ref: (c) => {
      const out = new Float32Array(c.M * c.N);
      gemmF32Twin(c.M, c.N, c.K, c.A, c.B, c.transB, c.bias, out);
      return out;
    },
    run: (c) => {
      const prev = setGemmF32Spec(spec);
      try {
        const out = new Float32Array(c.M * c.N).fill(Number.NaN);
        if (c.path === 'seam') gemmF32Wasm(c.M, c.N, c.K, c.A, c.B, c.transB, out);
        else {
          const p = packB(c.B, c.N, c.K, c.transB);
          try {
            gemmPacked(c.A, p, c.bias, out);
          } finally {
            p.free();
          }
        }
        return out;
      } finally {
        setGemmF32Spec(prev);
      }
    },
    dims: { M: spec.tile.mr, N: spec.tile.nr, K: spec.tile.kc },
    make: (d, seed) => {
      const rng = new Rng(seed);
      const transB = rng.int(2) === 1;
      const withBias = rng.int(2) === 1;
      return {
        M: d.M,
        N: d.N,
        K: d.K,
        A: fill(rng, d.M * d.K),
        B: fill(rng, d.N * d.K),
        transB,
        bias: withBias ? fill(rng, d.N) : null,
        path: withBias || rng.int(2) === 1 ? 'packed' : 'seam',
      };
    },
    tolerance: () => 0,
    budget: 'F32_GEMM_VS_REF = 0: the twin fixes the kernel summation order (k ascending per lane, mul then add, bias last)',
  };
}

export const GEMM_F32_SMALL_PACKA_SPEC: KernelSpec = {
  op: 'gemm',
  types: 'f32',
  tile: { mr: 4, nr: 8, kc: 8, mc: 8, ku: 1 },
  isa: 'simd128',
  variant: 'packa',
  overreadBytes: 0,
};

export const F32_KERNELS: readonly KernelEntry<GemmF32Case>[] = [
  gemmF32Entry(GEMM_F32_SPEC),
  gemmF32Entry(GEMM_F32_SMALL_SPEC),
  gemmF32Entry(GEMM_F32_SMALL_PACKA_SPEC),
];
