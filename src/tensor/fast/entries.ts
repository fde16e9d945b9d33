/**
 * Catalog entries of the fast non-GEMM kernels (KernelEntry, see ../wasm/spec.ts), for the
 * one list that drives the kernel tests, byte snapshots and benches: registering them is one
 * line in ../wasm/catalog.ts (`...FAST_KERNELS`). Each entry's twin is the reference it is
 * held to (budget 0 = bit-exact): GELU against its TypeScript twin `geluTwin` (which is itself
 * within 1 ulp of ops gelu, test/tensor/fast/gelu.test.ts), the others against the reference
 * ops directly. Inputs run through the public API (heap copies, thread split included).
 */
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';
import { layerNorm as layerNormRef } from '../ops/norm.js';
import { softmax as softmaxRef } from '../ops/softmax.js';
import type { KernelEntry } from '../wasm/spec.js';
import { gelu, geluTwin } from './gelu.js';
import { GELU_SPEC, emitGelu } from './gelu-emit.js';
import { layerNorm } from './layer-norm.js';
import { LAYER_NORM_SPEC, emitLayerNorm } from './layer-norm-emit.js';
import { softmax } from './softmax.js';
import { SOFTMAX_SPEC, emitSoftmax } from './softmax-emit.js';
import { attention, attentionRef } from './attention.js';
import { ATTENTION_SPEC, emitAttention } from './attention-emit.js';
import { binaryKernel, binaryTwin } from './elementwise.js';
import { BINARY_SPEC, emitBinary, type BinaryKind } from './elementwise-emit.js';

/** Values that stress the kernels: normal draws, signed zeros, wide exponents, ±80. */
function fill(rng: Rng, n: number, s = 2): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    if (u < 0.03) a[i] = rng.uniform() < 0.5 ? 0 : -0;
    else if (u < 0.06) a[i] = (rng.uniform() * 2 - 1) * 2 ** (rng.int(61) - 30);
    else if (u < 0.08) a[i] = rng.uniform() < 0.5 ? 80 : -80;
    else a[i] = rng.normal() * s;
  }
  return a;
}

function u8(rng: Rng, n: number, p: number): Tensor<'u8'> {
  const t = new Tensor('u8', [n, n]);
  const d = t.data as Uint8Array;
  for (let i = 0; i < d.length; i++) d[i] = rng.uniform() < p ? 1 : 0;
  return t;
}

const f32 = (t: Tensor<'f32'>): Float32Array => t.data as Float32Array;

const geluEntry: KernelEntry<{ x: Tensor<'f32'> }> = {
  spec: GELU_SPEC,
  emit: emitGelu,
  ref: ({ x }) => f32(geluTwin(x)),
  run: ({ x }) => f32(gelu(x)),
  dims: { n: 8 },
  make: ({ n }, seed) => ({ x: new Tensor('f32', [n], fill(new Rng(seed), n, 4)) }),
  tolerance: () => 0,
  budget: 'bit-exact vs its twin geluTwin (<= 1 ulp vs ops gelu)',
};

const layerNormEntry: KernelEntry<{ x: Tensor<'f32'>; g: Tensor<'f32'>; b: Tensor<'f32'> }> = {
  spec: LAYER_NORM_SPEC,
  emit: emitLayerNorm,
  ref: ({ x, g, b }) => f32(layerNormRef(x, g, b, 1e-5)),
  run: ({ x, g, b }) => f32(layerNorm(x, g, b, 1e-5)),
  dims: { rows: 4, D: 4 },
  make: ({ rows, D }, seed) => {
    const rng = new Rng(seed);
    return { x: new Tensor('f32', [rows, D], fill(rng, rows * D)), g: new Tensor('f32', [D], fill(rng, D)), b: new Tensor('f32', [D], fill(rng, D)) };
  },
  tolerance: () => 0,
  budget: 'bit-exact vs ops layerNorm',
};

const softmaxEntry: KernelEntry<{ x: Tensor<'f32'>; mask: Tensor<'u8'> }> = {
  spec: SOFTMAX_SPEC,
  emit: emitSoftmax,
  ref: ({ x, mask }) => f32(softmaxRef(x, -1, mask)),
  run: ({ x, mask }) => f32(softmax(x, -1, mask)),
  dims: { B: 4, n: 8 },
  make: ({ B, n }, seed) => {
    const rng = new Rng(seed);
    return { x: new Tensor('f32', [B, n, n], fill(rng, B * n * n, 6)), mask: u8(rng, n, 0.7) };
  },
  tolerance: () => 0,
  budget: 'bit-exact vs ops softmax',
};

const attentionEntry: KernelEntry<{ q: Tensor<'f32'>; k: Tensor<'f32'>; v: Tensor<'f32'>; mask: Tensor<'u8'> }> = {
  spec: ATTENTION_SPEC,
  emit: emitAttention,
  ref: ({ q, k, v, mask }) => f32(attentionRef(q, k, v, { scaleAt: 'dots', mask })),
  run: ({ q, k, v, mask }) => f32(attention(q, k, v, { scaleAt: 'dots', mask })),
  dims: { BH: 4, N: 8, dh: 8 },
  make: ({ BH, N, dh }, seed) => {
    const rng = new Rng(seed);
    const d = Math.ceil(dh / 4) * 4; // the kernel path needs dh % 4 == 0
    const t = () => new Tensor('f32', [1, BH, N, d], fill(rng, BH * N * d, 1));
    return { q: t(), k: t(), v: t(), mask: u8(rng, N, 0.8) };
  },
  tolerance: () => 0,
  budget: 'bit-exact vs the reference composition scale/matmul/softmax/matmul',
};

/** rows x P elements; B full (rows x P) or one row of P broadcast over the rows; add or mul. */
const binaryEntry: KernelEntry<{ kind: BinaryKind; A: Float32Array; B: Float32Array }> = {
  spec: BINARY_SPEC,
  emit: emitBinary,
  ref: ({ kind, A, B }) => {
    const out = new Float32Array(A.length);
    binaryTwin(kind, A, B, out);
    return out;
  },
  run: ({ kind, A, B }) => {
    const out = new Float32Array(A.length).fill(Number.NaN);
    binaryKernel(kind, A, B, out);
    return out;
  },
  dims: { rows: 4, P: 8 },
  make: ({ rows, P }, seed) => {
    const rng = new Rng(seed);
    const kind = rng.int(2) === 0 ? 'add' : 'mul';
    return { kind, A: fill(rng, rows * P, 1e30), B: fill(rng, rng.int(2) === 0 ? rows * P : P, 1e10) };
  },
  tolerance: () => 0,
  budget: 'bit-exact vs its twin binaryTwin (one IEEE float32 + or · per element, as ops add/mul)',
};

export const FAST_KERNELS: readonly KernelEntry<any>[] = [geluEntry, layerNormEntry, softmaxEntry, attentionEntry, binaryEntry];
