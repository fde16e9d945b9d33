/**
 * onnxruntime-web as an independent oracle for the integer GEMM twins:
 *  - MatMulInteger == our integer part c = Σ (A − zA)(W − zW), bit for bit;
 *  - MatMulNBits (bits 4) with an identity A returns our dequantized weights wᵀ bit for bit
 *    (each output is 1·w plus exact zeros, so summation order cannot matter);
 *  - MatMulNBits with random A equals our W4A16 twin within ORT_NBITS_VS_REF (below).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as ort from 'onnxruntime-web';
import { Rng } from '../../../src/tensor/rng.js';
import { integerPartI8Ref } from '../../../src/tensor/wasm/int8/ref.js';
import { dequantizeInt4Ref, gemmW4A16Ref } from '../../../src/tensor/wasm/int4/ref.js';
import { onnxModel, type OnnxTensor } from './onnx-builder.js';
import { genActivations, genF32, genInt4Weights, genInt8Weights, toMatMulNBits, type Fill } from './int-gen.js';

ort.env.wasm.numThreads = 1;

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const s = await ort.InferenceSession.create(model);
  try {
    const r = await s.run(feeds);
    return r.Y;
  } finally {
    await s.release();
  }
}

describe('ORT MatMulInteger == integerPartI8Ref (bit-exact)', () => {
  const dims = fc.constantFrom(1, 3, 17, 64, 403);
  it('uint8/int8 activations, per-tensor zA, int8 W with and without per-column zW, random and saturating codes', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ M: dims, K: dims, N: fc.constantFrom(1, 3, 8, 17), seed: fc.nat(), unsigned: fc.boolean(), zW: fc.boolean(), fill: fc.constantFrom<Fill>('random', 'extreme') }),
        async ({ M, K, N, seed, unsigned, zW, fill }) => {
          runs++;
          const rng = new Rng(seed);
          const a = genActivations(rng, M, K, { unsigned, perRow: false, zeroPoints: true, fill });
          const w = genInt8Weights(rng, N, K, zW, fill);
          const B = new Int8Array(K * N);
          for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) B[k * N + n] = w.data[n * K + k];
          const adt: 'uint8' | 'int8' = unsigned ? 'uint8' : 'int8';
          const inits: OnnxTensor[] = [
            { name: 'B', dtype: 'int8', dims: [K, N], data: B },
            { name: 'az', dtype: adt, dims: [], data: unsigned ? Uint8Array.of(a.zeros![0]) : Int8Array.of(a.zeros![0]) },
          ];
          if (w.zeros) inits.push({ name: 'bz', dtype: 'int8', dims: [N], data: Int8Array.from(w.zeros) });
          const model = onnxModel({
            nodes: [{ op: 'MatMulInteger', inputs: w.zeros ? ['A', 'B', 'az', 'bz'] : ['A', 'B', 'az'], outputs: ['Y'] }],
            initializers: inits,
            inputs: [{ name: 'A', dtype: adt, dims: [M, K] }],
            outputs: [{ name: 'Y', dtype: 'int32', dims: [M, N] }],
          });
          const y = await run(model, { A: new ort.Tensor(adt, a.data, [M, K]) });
          expect(Array.from(integerPartI8Ref(a, w))).toEqual(Array.from(y.data as Int32Array));
        },
      ),
      { numRuns: 24, seed: 0x1a7 },
    );
    expect(runs).toBeGreaterThan(0);
  });
});

function nbitsModel(M: number, K: number, N: number, G: number, withZp: boolean, nGroups: number, blob: number, zpLen: number): Uint8Array {
  return onnxModel({
    nodes: [
      {
        op: 'MatMulNBits',
        domain: 'com.microsoft',
        inputs: withZp ? ['A', 'B', 'S', 'Z'] : ['A', 'B', 'S'],
        outputs: ['Y'],
        ints: { K, N, bits: 4, block_size: G, accuracy_level: 0 },
      },
    ],
    initializers: [],
    inputs: [
      { name: 'A', dtype: 'float', dims: [M, K] },
      { name: 'B', dtype: 'uint8', dims: [N, nGroups, blob] },
      { name: 'S', dtype: 'float', dims: [N * nGroups] },
      ...(withZp ? [{ name: 'Z', dtype: 'uint8' as const, dims: [zpLen] }] : []),
    ],
    outputs: [{ name: 'Y', dtype: 'float', dims: [M, N] }],
  });
}

describe('ORT MatMulNBits (bits=4) agrees with our 4-bit layout and dequantization', () => {
  const arb = fc.record({
    K: fc.constantFrom(16, 17, 31, 33, 64, 127, 148),
    N: fc.constantFrom(1, 3, 8, 17),
    G: fc.constantFrom(16, 32, 64, 128),
    signed: fc.boolean(),
    seed: fc.nat(),
    fill: fc.constantFrom<Fill>('random', 'extreme'),
  });

  it('identity activations: MatMulNBits returns exactly dequantizeInt4Ref(w)ᵀ (±0 compared equal)', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(arb, async ({ K, N, G, signed, seed, fill }) => {
        runs++;
        const w = genInt4Weights(new Rng(seed), N, K, G, signed, fill);
        const { B, zp, nGroups, blob } = toMatMulNBits(w);
        const eye = new Float32Array(K * K);
        for (let k = 0; k < K; k++) eye[k * K + k] = 1;
        const feeds: Record<string, ort.Tensor> = {
          A: new ort.Tensor('float32', eye, [K, K]),
          B: new ort.Tensor('uint8', B, [N, nGroups, blob]),
          S: new ort.Tensor('float32', w.scales, [N * nGroups]),
        };
        if (zp) feeds.Z = new ort.Tensor('uint8', zp, [zp.length]);
        const y = (await run(nbitsModel(K, K, N, G, zp !== null, nGroups, blob, zp?.length ?? 0), feeds)).data as Float32Array;
        const wd = dequantizeInt4Ref(w);
        for (let n = 0; n < N; n++) {
          for (let k = 0; k < K; k++) {
            if (y[k * N + n] !== wd[n * K + k]) {
              throw new Error(`w[n=${n},k=${k}] ours ${wd[n * K + k]} ORT ${y[k * N + n]} (N=${N} K=${K} G=${G} signed=${signed})`);
            }
          }
        }
      }),
      { numRuns: 24, seed: 0x4b1 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  // ORT_NBITS_VS_REF: both sides sum the same float32 products w·x (same dequantized w, shown
  // bit-exact above) in different orders; each sum is within γ_K·Σ|x·w| of the exact value
  // (γ_K = K·u/(1−K·u), u = 2^-24; the products' own rounding is identical on both sides and
  // cancels), so the two differ by at most 2·γ_K·Σ_k |x_k·w_k|.
  it('random activations: |MatMulNBits − gemmW4A16Ref| ≤ 2·γ_K·Σ|x·w| per output (ORT_NBITS_VS_REF)', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(arb, fc.constantFrom(1, 5, 33), async ({ K, N, G, signed, seed, fill }, M) => {
        runs++;
        const rng = new Rng(seed);
        const w = genInt4Weights(rng, N, K, G, signed, fill);
        const x = genF32(rng, M * K);
        const { B, zp, nGroups, blob } = toMatMulNBits(w);
        const feeds: Record<string, ort.Tensor> = {
          A: new ort.Tensor('float32', x, [M, K]),
          B: new ort.Tensor('uint8', B, [N, nGroups, blob]),
          S: new ort.Tensor('float32', w.scales, [N * nGroups]),
        };
        if (zp) feeds.Z = new ort.Tensor('uint8', zp, [zp.length]);
        const y = (await run(nbitsModel(M, K, N, G, zp !== null, nGroups, blob, zp?.length ?? 0), feeds)).data as Float32Array;
        const ours = new Float32Array(M * N);
        gemmW4A16Ref(M, x, w, null, ours);
        const wd = dequantizeInt4Ref(w);
        const u = 2 ** -24;
        const gamma = (K * u) / (1 - K * u);
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            let absSum = 0;
            for (let k = 0; k < K; k++) absSum += Math.abs(x[m * K + k] * wd[n * K + k]);
            const err = Math.abs(ours[m * N + n] - y[m * N + n]);
            if (!(err <= 2 * gamma * absSum)) {
              throw new Error(`(m=${m},n=${n}) ours ${ours[m * N + n]} ORT ${y[m * N + n]} err ${err} > bound ${2 * gamma * absSum}`);
            }
          }
        }
      }),
      { numRuns: 16, seed: 0x4b2 },
    );
    expect(runs).toBeGreaterThan(0);
  });
});
