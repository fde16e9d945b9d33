/**
 * Catalog entries of the int8 family (see ../catalog.ts): the GEMMs, bit-exact to gemmI8Ref
 * (`make` varies, by seed, the activation signedness, per-tensor/per-row parameters, zero
 * points on both sides, bias, and saturating codes), and the activation quantizer, bit-exact
 * to quantizeRowsRef (`make` draws exact ties on each row's grid, ±0, ±Infinity, huge values,
 * the three code formulas and four code ranges, per-row or per-tensor (s, z)).
 */
import { Rng } from '../../rng.js';
import type { KernelEntry, KernelSpec } from '../spec.js';
import { GEMM_I8_SPEC, GEMM_I8_W8_SPEC, emitGemmI8 } from './emit.js';
import { gemmI8, packI8 } from './gemm.js';
import { gemmI8Ref, type Int8Weights, type QuantizedActivations } from './ref.js';
import { QUANT_ROWS_SPEC, emitQuantRows, quantizeRowsI8, type CodeFormula } from './quantize.js';
import { quantizeRowsRef } from './quantize-ref.js';

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

export interface QuantRowsCase {
  x: Float32Array;
  M: number;
  K: number;
  scale: Float32Array;
  zero: Float32Array;
  formula: CodeFormula;
}

const FORMULAS: readonly Pick<CodeFormula, 'scaleOp' | 'zeroPoint'>[] = [
  { scaleOp: 'div', zeroPoint: 'post-round' }, // onnx
  { scaleOp: 'mul-recip', zeroPoint: 'post-round' }, // torch
  { scaleOp: 'div', zeroPoint: 'pre-round' }, // quantwm-uniform
];
const RANGES: readonly [number, number][] = [[-128, 127], [-8, 7], [0, 255], [0, 15]];

export function makeQuantRowsCase(d: Readonly<Record<string, number>>, seed: number): QuantRowsCase {
  const rng = new Rng(seed);
  const { M, K } = d;
  const [qmin, qmax] = RANGES[rng.int(RANGES.length)];
  const formula: CodeFormula = { ...FORMULAS[rng.int(FORMULAS.length)], qmin, qmax };
  const n = rng.int(2) ? M : 1;
  const scale = new Float32Array(n).map(() => Math.fround(2 ** (-10 + 12 * rng.uniform())));
  const zero = new Float32Array(n).map(() => qmin + rng.int(qmax - qmin + 1));
  const x = new Float32Array(M * K);
  for (let i = 0; i < M * K; i++) {
    const g = n === 1 ? 0 : Math.floor(i / K);
    const s = scale[g];
    const u = rng.int(10);
    if (u < 4) x[i] = Math.fround((rng.int(300) - 150 - zero[g] + 0.5) * s); // a tie on this row's grid
    else if (u === 4) x[i] = rng.int(2) ? 0 : -0;
    else if (u === 5) x[i] = rng.int(2) ? Infinity : -Infinity;
    else if (u === 6) x[i] = Math.fround((rng.uniform() * 2 - 1) * 1e30);
    else x[i] = Math.fround(rng.normal() * 100 * s);
  }
  return { x, M, K, scale, zero, formula };
}

const out = (c: QuantRowsCase): Int8Array | Uint8Array => (c.formula.qmin < 0 ? new Int8Array(c.M * c.K) : new Uint8Array(c.M * c.K));

const quantRowsEntry: KernelEntry<QuantRowsCase> = {
  spec: QUANT_ROWS_SPEC,
  emit: emitQuantRows,
  ref: (c) => {
    const q = out(c);
    quantizeRowsRef(c.x, c.M, c.K, c.scale, c.zero, c.formula, q);
    return q;
  },
  run: (c) => {
    const q = out(c);
    quantizeRowsI8(c.x, c.M, c.K, c.scale, c.zero, c.formula, q);
    return q;
  },
  // 16 values per SIMD step; rows have no tile
  dims: { M: 1, K: 16 },
  make: makeQuantRowsCase,
  tolerance: () => 0,
  budget: 'QUANT_VS_REF = 0: the same float32 ops (div or mul by f(1/s), round half to even, + z before or after) and clamp, as the twin',
};

/** int16 panels (the default kernel) and int8 panels; the activation quantizer. */
export const I8_KERNELS: readonly KernelEntry<any>[] = [gemmI8Entry(GEMM_I8_SPEC), gemmI8Entry(GEMM_I8_W8_SPEC), quantRowsEntry];
