/**
 * Catalog entries of the 4-bit weight family (see ../catalog.ts): W4A8 and W4A16 over the
 * same packed panels, bit-exact to gemmW4A8Ref / gemmW4A16Ref. `make` draws, by seed, the
 * group size (including ones that do not divide K), i4 or u4 codes, activation parameters
 * and bias.
 */
import { Rng } from '../../rng.js';
import { setNibble } from '../../dtype.js';
import type { KernelEntry } from '../spec.js';
import { makeI8Case } from '../int8/entries.js';
import type { QuantizedActivations } from '../int8/ref.js';
import { GEMM_W4A16_SPEC, GEMM_W4A8_SPEC, emitGemmW4A16, emitGemmW4A8 } from './emit.js';
import { gemmW4A16, gemmW4A8, packI4 } from './gemm.js';
import { gemmW4A16Ref, gemmW4A8Ref, groupCount, type Int4Weights } from './ref.js';

export interface GemmI4Case {
  a: QuantizedActivations;
  /** (M, K) float32 activations for W4A16 */
  x: Float32Array;
  w: Int4Weights;
  bias: Float32Array | null;
}

const GROUPS = [2, 6, 16, 32, 128];

export function makeI4Case(d: Readonly<Record<string, number>>, seed: number): GemmI4Case {
  const { a, bias } = makeI8Case(d, seed);
  const rng = new Rng(seed ^ 0x4b1);
  const { M, N, K } = d;
  const G = GROUPS[rng.int(GROUPS.length)];
  const signed = rng.int(2) === 1;
  const extreme = rng.int(4) === 0;
  const codes = new Uint8Array(Math.ceil((N * K) / 2));
  for (let i = 0; i < N * K; i++) {
    const v = extreme ? (rng.int(2) ? 15 : 0) : rng.int(16);
    setNibble(codes, i, signed ? v - 8 : v);
  }
  const ng = groupCount(K, G);
  const w: Int4Weights = {
    N, K, groupSize: G, signed, codes,
    scales: new Float32Array(N * ng).map(() => Math.fround(2 ** (-8 + 6 * rng.uniform()) * (rng.int(5) === 0 ? -1 : 1))),
    zeros: signed ? null : new Uint8Array(N * ng).map(() => rng.int(16)),
  };
  const x = new Float32Array(M * K).map(() => rng.normal());
  return { a, x, w, bias };
}

function entry(which: 'w4a8' | 'w4a16'): KernelEntry<GemmI4Case> {
  const w4a8 = which === 'w4a8';
  return {
    spec: w4a8 ? GEMM_W4A8_SPEC : GEMM_W4A16_SPEC,
    emit: w4a8 ? emitGemmW4A8 : emitGemmW4A16,
    ref: (c) => {
      const out = new Float32Array(c.a.M * c.w.N);
      if (w4a8) gemmW4A8Ref(c.a, c.w, c.bias, out);
      else gemmW4A16Ref(c.a.M, c.x, c.w, c.bias, out);
      return out;
    },
    run: (c) => {
      const p = packI4(c.w);
      try {
        const out = new Float32Array(c.a.M * c.w.N).fill(Number.NaN);
        if (w4a8) gemmW4A8(c.a, p, c.bias, out);
        else gemmW4A16(c.a.M, c.x, p, c.bias, out);
        return out;
      } finally {
        p.free();
      }
    },
    dims: { M: 4, N: 8, K: 32 },
    make: makeI4Case,
    tolerance: () => 0,
    budget: w4a8
      ? 'INT_GEMM_VS_REF = 0: exact i32 dots per group, groups accumulated in float32 ascending (acc + f32(c)·s), then ·sA (+ bias), as the twin'
      : 'W4A16_VS_REF = 0: the same dequantized weights f32(s·(q − z)), k ascending in one float32 accumulator (mul then add), + bias, as the twin',
  };
}

export const I4_KERNELS: readonly KernelEntry<GemmI4Case>[] = [entry('w4a8'), entry('w4a16')];
