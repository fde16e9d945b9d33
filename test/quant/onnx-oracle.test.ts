/**
 * Oracle tests against onnxruntime-web (a real implementation nobody here wrote): our 'onnx'
 * convention (x / s, round half to even, + z after rounding, saturate) and the 'onnx-dynamic'
 * rule agree with ORT's QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear bit for bit
 * (budget 0) on random inputs and on exact ties x = fr((k + 0.5) s).
 */
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONVENTIONS, chooseQParams, dequantize, groupMinMax, quantize, type QParams, type QRange } from '../../src/quant/affine.js';
import { PER_TENSOR, groupLayout, rowGroups, type Granularity } from '../../src/quant/granularity.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor, tensor } from '../../src/tensor/tensor.js';
import { integerPartI8Ref } from '../../src/tensor/wasm/int8/ref.js';
import { fakeQuantizeMinMax } from '../../src/quant/affine.js';
import { bitType } from '../../src/quant/bittype.js';
import { linearF32 } from '../../src/quant/execute.js';
import { oneNodeModel, rawBytes, type OnnxDType } from './onnx-model.js';
import { U32, f32DotBudget } from './budgets.js';

const fr = Math.fround;

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const sess = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    return (await sess.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await sess.release();
  }
}

/** x: random normals scaled to the range, plus exact ties fr((k + 0.5) s_g) per group and saturating values. */
function inputsWithTies(rng: Rng, rows: number, cols: number, groupScale: (r: number, c: number) => number, zOf: (r: number, c: number) => number, range: QRange): Float32Array {
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = groupScale(r, c);
      const z = zOf(r, c);
      const u = rng.uniform();
      if (u < 0.4) {
        const k = range.qmin - z - 2 + rng.int(range.qmax - range.qmin + 4);
        x[r * cols + c] = fr((k + 0.5) * s);
      } else if (u < 0.45) x[r * cols + c] = (rng.uniform() < 0.5 ? -1 : 1) * 1e6 * s;
      else x[r * cols + c] = fr(rng.normal() * s * (range.qmax - range.qmin) * 0.4);
    }
  }
  return x;
}

function countTies(x: Float32Array, scaleOf: (i: number) => number): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const t = fr(x[i] / scaleOf(i));
    if (t - Math.floor(t) === 0.5) n++;
  }
  return n;
}

function expectSameInts(what: string, ours: ArrayLike<number>, ref: ArrayLike<number>): void {
  expect(ours.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    if (ours[i] !== ref[i]) expect(ours[i], `${what}: first mismatch at ${i}`).toBe(ref[i]);
  }
}

function expectSameBits(what: string, ours: Float32Array, ref: Float32Array): void {
  expect(ours.length).toBe(ref.length);
  const a = new Uint32Array(ours.buffer, ours.byteOffset, ours.length);
  const b = new Uint32Array(ref.buffer, ref.byteOffset, ref.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) expect(ours[i], `${what}: first bit mismatch at ${i}`).toBe(ref[i]);
  }
}

interface QCase {
  name: string;
  dtype: OnnxDType;
  range: QRange;
  shape: [number, number];
  gran: Granularity;
  /** ONNX attributes: axis / block_size */
  attrs: Record<string, { i: number }>;
  opset: number;
  scales: number[];
  zeros: number[];
  scaleShape: number[];
}

function cases(): QCase[] {
  const rng = new Rng(7);
  const scalesFor = (n: number) => Array.from({ length: n }, () => fr(0.001 + rng.uniform() * 0.2));
  return [
    { name: 'uint8 per-tensor', dtype: 'uint8', range: { qmin: 0, qmax: 255 }, shape: [16, 64], gran: PER_TENSOR, attrs: {}, opset: 13, scales: [fr(0.0375)], zeros: [113], scaleShape: [] },
    { name: 'int8 per-tensor', dtype: 'int8', range: { qmin: -128, qmax: 127 }, shape: [16, 64], gran: PER_TENSOR, attrs: {}, opset: 13, scales: [fr(0.1)], zeros: [-3], scaleShape: [] },
    {
      name: 'int8 per-axis (axis 0 = per output channel)', dtype: 'int8', range: { qmin: -128, qmax: 127 }, shape: [12, 40],
      gran: { kind: 'per-channel', axis: 0 }, attrs: { axis: { i: 0 } }, opset: 13, scales: scalesFor(12), zeros: Array(12).fill(0), scaleShape: [12],
    },
    {
      name: 'uint8 per-axis (axis 1 = per column)', dtype: 'uint8', range: { qmin: 0, qmax: 255 }, shape: [20, 8],
      gran: { kind: 'per-channel', axis: 1 }, attrs: { axis: { i: 1 } }, opset: 13, scales: scalesFor(8), zeros: [0, 10, 128, 255, 3, 77, 200, 1], scaleShape: [8],
    },
    {
      name: 'int8 blocked (opset 21, axis 1, block 32) = row-aligned groups of 32, short last block', dtype: 'int8', range: { qmin: -128, qmax: 127 }, shape: [6, 80],
      gran: rowGroups(32), attrs: { axis: { i: 1 }, block_size: { i: 32 } }, opset: 21, scales: scalesFor(18), zeros: Array.from({ length: 18 }, (_, i) => (i % 5) - 2), scaleShape: [6, 3],
    },
  ];
}

describe('onnxruntime-web oracle (budget 0: bit for bit)', () => {
  for (const c of cases()) {
    it(`QuantizeLinear / DequantizeLinear ${c.name}`, async () => {
      const [R, C] = c.shape;
      const lay = groupLayout(c.shape, c.gran);
      const gIndex = new Int32Array(R * C);
      for (let g = 0; g < lay.numGroups; g++) for (let k = 0; k < lay.count[g]; k++) gIndex[lay.start[g] + k * lay.stride] = g;
      const qp: QParams = { scale: Float32Array.from(c.scales), zeroPoint: Float32Array.from(c.zeros) };
      const x = inputsWithTies(new Rng(11), R, C, (r, cc) => qp.scale[gIndex[r * C + cc]], (r, cc) => qp.zeroPoint[gIndex[r * C + cc]], c.range);
      expect(countTies(x, (i) => qp.scale[gIndex[i]])).toBeGreaterThan(R * C * 0.2);

      const zpArr = c.dtype === 'uint8' ? Uint8Array.from(c.zeros) : Int8Array.from(c.zeros);
      const qModel = oneNodeModel({
        node: { op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['y'], attrs: c.attrs },
        inputs: [{ name: 'x', dtype: 'float', shape: c.shape }],
        outputs: [{ name: 'y', dtype: c.dtype, shape: c.shape }],
        initializers: [
          { name: 's', dtype: 'float', shape: c.scaleShape, raw: rawBytes(qp.scale) },
          { name: 'z', dtype: c.dtype, shape: c.scaleShape, raw: rawBytes(zpArr) },
        ],
        opset: c.opset,
      });
      const out = await run(qModel, { x: new ort.Tensor('float32', x, c.shape) });
      const ours = quantize(tensor(x, c.shape), qp, lay, c.range, CONVENTIONS.onnx);
      expectSameInts(`QuantizeLinear ${c.name}`, ours.data as ArrayLike<number>, out.y.data as ArrayLike<number>);

      const dqModel = oneNodeModel({
        node: { op: 'DequantizeLinear', inputs: ['q', 's', 'z'], outputs: ['y'], attrs: c.attrs },
        inputs: [{ name: 'q', dtype: c.dtype, shape: c.shape }],
        outputs: [{ name: 'y', dtype: 'float', shape: c.shape }],
        initializers: [
          { name: 's', dtype: 'float', shape: c.scaleShape, raw: rawBytes(qp.scale) },
          { name: 'z', dtype: c.dtype, shape: c.scaleShape, raw: rawBytes(zpArr) },
        ],
        opset: c.opset,
      });
      const dq = await run(dqModel, {
        q: c.dtype === 'uint8' ? new ort.Tensor('uint8', ours.data as Uint8Array, c.shape) : new ort.Tensor('int8', ours.data as Int8Array, c.shape),
      });
      const oursDq = dequantize(ours, qp, lay);
      expectSameBits(`DequantizeLinear ${c.name}`, oursDq.f32, dq.y.data as Float32Array);
    });
  }

  it('DynamicQuantizeLinear (uint8): scale, zero point and codes, random and tie inputs, all-positive and all-zero tensors', async () => {
    const n = 3000;
    const model = oneNodeModel({
      node: { op: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['y', 'ys', 'yz'] },
      inputs: [{ name: 'x', dtype: 'float', shape: [n] }],
      outputs: [
        { name: 'y', dtype: 'uint8', shape: [n] },
        { name: 'ys', dtype: 'float', shape: [] },
        { name: 'yz', dtype: 'uint8', shape: [] },
      ],
      opset: 13,
    });
    const sess = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const range = { qmin: 0, qmax: 255 };
    let ties = 0;
    let runs = 0;
    try {
      for (let seed = 0; seed < 12; seed++) {
        const rng = new Rng(seed);
        const x = new Float32Array(n);
        const shift = seed % 4 === 3 ? 5 : 0; // some all-positive inputs: the range is widened to 0
        for (let i = 0; i < n; i++) x[i] = fr(rng.normal() * (1 + seed) + shift);
        if (seed === 11) x.fill(0); // max = min = 0: ORT uses scale 1
        const lay = groupLayout([n], PER_TENSOR);
        const mm = groupMinMax(tensor(x), lay);
        const qp = chooseQParams(mm.min, mm.max, range, 'onnx-dynamic');
        if (seed !== 11) {
          // move a third of the non-extreme entries onto exact ties of this scale
          for (let i = 0; i < n; i += 3) {
            if (x[i] === mm.min[0] || x[i] === mm.max[0]) continue;
            const t = fr(fr(x[i] / qp.scale[0]));
            const cand = fr((Math.floor(t) + 0.5) * qp.scale[0]);
            if (cand > mm.min[0] && cand < mm.max[0]) x[i] = cand;
          }
        }
        ties += countTies(x, () => qp.scale[0]);
        const out = (await sess.run({ x: new ort.Tensor('float32', x, [n]) })) as Record<string, ort.Tensor>;
        runs++;
        expectSameBits(`scale seed ${seed}`, qp.scale, out.ys.data as Float32Array);
        expect(qp.zeroPoint[0], `zero point seed ${seed}`).toBe((out.yz.data as Uint8Array)[0]);
        const ours = quantize(tensor(x), qp, lay, range, CONVENTIONS.onnx);
        expectSameInts(`codes seed ${seed}`, ours.data as Uint8Array, out.y.data as Uint8Array);
      }
    } finally {
      await sess.release();
    }
    expect(runs).toBe(12);
    expect(ties).toBeGreaterThan(5000);
  });
});

describe('onnxruntime-web oracle for the integer layouts', () => {
  it('MatMulInteger (uint8 A with zero point, int8 B = Wᵀ with per-column zero points) = our exact integer part, bit for bit', async () => {
    const rng = new Rng(31);
    const [M, K, N] = [7, 37, 9];
    const A = Uint8Array.from({ length: M * K }, () => rng.int(256));
    const W = Int8Array.from({ length: N * K }, () => rng.int(256) - 128); // (N, K) Linear layout
    const zA = 131;
    const zW = Int8Array.from({ length: N }, () => rng.int(256) - 128);
    const B = new Int8Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) B[k * N + n] = W[n * K + k];
    const model = oneNodeModel({
      node: { op: 'MatMulInteger', inputs: ['a', 'b', 'za', 'zb'], outputs: ['y'] },
      inputs: [{ name: 'a', dtype: 'uint8', shape: [M, K] }],
      outputs: [{ name: 'y', dtype: 'int32', shape: [M, N] }],
      initializers: [
        { name: 'b', dtype: 'int8', shape: [K, N], raw: rawBytes(B) },
        { name: 'za', dtype: 'uint8', shape: [], raw: Uint8Array.of(zA) },
        { name: 'zb', dtype: 'int8', shape: [N], raw: rawBytes(zW) },
      ],
      opset: 13,
    });
    const out = await run(model, { a: new ort.Tensor('uint8', A, [M, K]) });
    const ours = integerPartI8Ref(
      { data: A, M, K, scales: Float32Array.of(1), zeros: Int32Array.of(zA) },
      { data: W, N, K, scales: new Float32Array(N).fill(1), zeros: Int32Array.from(zW) },
    );
    expectSameInts('MatMulInteger', ours, out.y.data as Int32Array);
  });

  it('MatMulNBits (4 bits, block 32, u4 codes + zero points) computes what our row-aligned W4 layout computes, within γ_K Σ|x||ŵ|', async () => {
    const rng = new Rng(32);
    const [M, K, N, G] = [5, 80, 6, 32]; // K = 2.5 blocks: the last block is short
    const w = rng.normalTensor([N, K]);
    const x = rng.normalTensor([M, K]);
    const { xq: wHat, qparams, layout } = fakeQuantizeMinMax(w, rowGroups(G), { range: bitType(4, false), rule: 'awq-asym', convention: CONVENTIONS.onnx });
    const codes = quantize(w, qparams, layout, bitType(4, false), CONVENTIONS.onnx).data as Uint8Array;
    const nB = Math.ceil(K / G);
    const B = new Uint8Array(N * nB * (G / 2)); // [N][n_blocks][G/2], low nibble = even k, short block zero-padded
    const zp = new Uint8Array(N * Math.ceil(nB / 2)); // 4-bit zero points, low nibble = even block
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < nB; b++) {
        const z = qparams.zeroPoint[n * nB + b];
        zp[n * Math.ceil(nB / 2) + (b >> 1)] |= (z & 0xf) << ((b & 1) * 4);
        for (let j = 0; j < G && b * G + j < K; j++) {
          const q = codes[n * K + b * G + j];
          B[(n * nB + b) * (G / 2) + (j >> 1)] |= (q & 0xf) << ((j & 1) * 4);
        }
      }
    }
    const model = oneNodeModel({
      node: { op: 'MatMulNBits', domain: 'com.microsoft', inputs: ['a', 'b', 's', 'z'], outputs: ['y'], attrs: { K: { i: K }, N: { i: N }, bits: { i: 4 }, block_size: { i: G } } },
      inputs: [{ name: 'a', dtype: 'float', shape: [M, K] }],
      outputs: [{ name: 'y', dtype: 'float', shape: [M, N] }],
      initializers: [
        { name: 'b', dtype: 'uint8', shape: [N, nB, G / 2], raw: B },
        { name: 's', dtype: 'float', shape: [N * nB], raw: rawBytes(qparams.scale) },
        { name: 'z', dtype: 'uint8', shape: [N * Math.ceil(nB / 2)], raw: zp },
      ],
      opset: 21,
      extraOpsets: [{ domain: 'com.microsoft', version: 1 }],
    });
    const out = (await run(model, { a: new ort.Tensor('float32', x.f32, [M, K]) })).y.data as Float32Array;
    const ours = linearF32(x, wHat, null).f32;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += Math.abs(x.f32[m * K + k] * wHat.f32[n * K + k]);
        // both sums within γ_K of the exact one; ORT may also round ŵ its own way (+2u per term)
        expect(Math.abs(out[m * N + n] - ours[m * N + n])).toBeLessThanOrEqual((2 * f32DotBudget(K, 1) + 2 * U32) * s);
      }
    }
  });
});

export type { Tensor };
