/**
 * Catalog entry of the int8 GEMM family (see ../catalog.ts): bit-exact to gemmI8Ref.
 * `make` varies, by seed, the activation signedness, per-tensor/per-row parameters, zero
 * points on both sides, bias, and saturating codes.
 */
import { Rng } from '../../rng.js';
import type { KernelEntry, KernelSpec } from '../spec.js';
import { GEMM_I8_SPEC, GEMM_I8_W8_SPEC, emitGemmI8 } from './emit.js';
import { gemmI8, packI8 } from './gemm.js';
import { gemmI8Ref, type Int8Weights, type QuantizedActivations } from './ref.js';

export interface GemmI8Case {
  a: QuantizedActivations;
  w: Int8Weights;
  bias: Float32Array | null;
}

/** Codes in [lo, hi]; one case in four saturates (only lo/hi). */
function codes<T extends Int8Array | Uint8Array>(rng: Rng, out: T, lo: number, hi: number, extreme: boolean): T {
  for (let i = 0; i < out.length; i++) out[i] = extreme ? (rng.int(2) ? hi : lo) : lo + rng.int(hi - lo + 1);
  return out;
}

function scale(rng: Rng): number {
  return Math.fround(2 ** (-12 + 8 * rng.uniform()) * (rng.int(5) === 0 ? -1 : 1));
}

export function makeI8Case(d: Readonly<Record<string, number>>, seed: number): GemmI8Case {
  const rng = new Rng(seed);
  const { M, N, K } = d;
  const unsigned = rng.int(2) === 1;
  const extreme = rng.int(4) === 0;
  const perRow = rng.int(2) === 1;
  const [lo, hi] = unsigned ? [0, 255] : [-128, 127];
  const data = codes(rng, unsigned ? new Uint8Array(M * K) : new Int8Array(M * K), lo, hi, extreme);
  const ns = perRow ? M : 1;
  const a: QuantizedActivations = {
    data, M, K,
    scales: new Float32Array(ns).map(() => Math.abs(scale(rng))),
    zeros: rng.int(2) ? new Int32Array(ns).map(() => lo + rng.int(hi - lo + 1)) : null,
  };
  const w: Int8Weights = {
    data: codes(rng, new Int8Array(N * K), -128, 127, extreme),
    N, K,
    scales: new Float32Array(N).map(() => scale(rng)),
    zeros: rng.int(3) === 0 ? new Int32Array(N).map(() => -128 + rng.int(256)) : null,
  };
  const bias = rng.int(2) ? new Float32Array(N).map(() => rng.normal()) : null;
  return { a, w, bias };
}

function gemmI8Entry(spec: KernelSpec): KernelEntry<GemmI8Case> {
  return {
    spec,
    emit: emitGemmI8,
    ref: (c) => {
      const out = new Float32Array(c.a.M * c.w.N);
      gemmI8Ref(c.a, c.w, c.bias, out);
      return out;
    },
    run: (c) => {
      const p = packI8(c.w, spec);
      try {
        const out = new Float32Array(c.a.M * c.w.N).fill(Number.NaN);
        gemmI8(c.a, p, c.bias, out);
        return out;
      } finally {
        p.free();
      }
    },
    // K's tile is the widening step (16 codes per SIMD step), kc = 2 inside the dot
    dims: { M: 4, N: 8, K: 16 },
    make: makeI8Case,
    tolerance: () => 0,
    budget: 'INT_GEMM_VS_REF = 0: exact i32 dots, then the twin\'s float32 epilogue ops in its order (s = sA·sW; f32(c)·s; + bias)',
  };
}

/** int16 panels (the default kernel) and int8 panels. */
export const I8_KERNELS: readonly KernelEntry<GemmI8Case>[] = [gemmI8Entry(GEMM_I8_SPEC), gemmI8Entry(GEMM_I8_W8_SPEC)];
