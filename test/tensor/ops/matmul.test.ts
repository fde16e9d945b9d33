import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { referenceBackend, setBackend, type GemmF32 } from '../../../src/tensor/backend.js';
import { DTypeError, ShapeError } from '../../../src/tensor/errors.js';
import { linear, matmul } from '../../../src/tensor/ops/index.js';
import { intTensor, Tensor, tensor } from '../../../src/tensor/tensor.js';
import { f32Of, loadGolden, worst } from './golden.js';
import { tensorArb } from './arb.js';

/** F32_GEMM_VS_REF: |C - C_exact| <= gamma_K sum_k |a_k||b_k|, gamma_K = K 2^-24 / (1 - K 2^-24) (textbook dot-product bound). */
const gamma = (K: number): number => (K * 2 ** -24) / (1 - K * 2 ** -24);

/** Exact-in-float64 op(a)·op(b) for one batch element plus the sum |a||b| for the bound. */
function naive(a: Tensor<'f32'>, b: Tensor<'f32'>, transA: boolean, transB: boolean): { y: number[]; abs: number[]; shape: number[] } {
  const ra = a.shape.at(-2)!, ca = a.shape.at(-1)!, rb = b.shape.at(-2)!, cb = b.shape.at(-1)!;
  const [M, K] = transA ? [ca, ra] : [ra, ca];
  const N = transB ? rb : cb;
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const nd = Math.max(ba.length, bb.length);
  const batch: number[] = [];
  for (let d = 0; d < nd; d++) {
    const x = ba[d - (nd - ba.length)] ?? 1, z = bb[d - (nd - bb.length)] ?? 1;
    batch.push(Math.max(x, z));
  }
  const nb = batch.reduce((p, q) => p * q, 1);
  const y: number[] = [], abs: number[] = [];
  for (let i = 0; i < nb; i++) {
    // batch index -> offsets in a and b (broadcast)
    let rem = i, oa = 0, ob = 0, sa = 1, sb = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const idx = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      const da = ba[d - (nd - ba.length)], db = bb[d - (nd - bb.length)];
      if (da !== undefined) { oa += (da === 1 ? 0 : idx) * sa; sa *= da; }
      if (db !== undefined) { ob += (db === 1 ? 0 : idx) * sb; sb *= db; }
    }
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0, t = 0;
        for (let k = 0; k < K; k++) {
          const av = a.data[oa * M * K + (transA ? k * M + m : m * K + k)];
          const bv = b.data[ob * K * N + (transB ? n * K + k : k * N + n)];
          s += av * bv;
          t += Math.abs(av * bv);
        }
        y.push(s);
        abs.push(t);
      }
  }
  return { y, abs, shape: [...batch, M, N] };
}

describe('matmul', () => {
  afterEach(() => void setBackend(referenceBackend()));
  it('matches PyTorch (batched broadcast, transA, transB, both, linear) within 2 gamma_K sum|a||b| (observed: 0)', () => {
    const doc = loadGolden('matmul');
    for (const [name, c] of Object.entries(doc.cases)) {
      const a = f32Of(c.a), b = f32Of(c.b), want = f32Of(c.y);
      const y = name === 'linear' ? linear(a, b, f32Of(c.bias)) : matmul(a, b, { transA: c.transA as boolean, transB: c.transB as boolean });
      expect(y.shape, name).toEqual(want.shape);
      const K = name === 'linear' ? b.shape[1] : c.transA ? a.shape.at(-2)! : a.shape.at(-1)!;
      const ref = name === 'linear' ? null : naive(a, b, c.transA as boolean, c.transB as boolean);
      const w = worst(y.f32, want.f32, (i) => 2 * gamma(K + 1) * (ref ? ref.abs[i] : 64) + 2 ** -140);
      expect(w.ratio, `${name} at ${w.at}`).toBeLessThanOrEqual(1);
    }
  });
  it('property: random shapes/transposes/broadcast batches within gamma_K sum|a||b| of the float64 product', () => {
    const arb = fc
      .record({
        M: fc.integer({ min: 1, max: 5 }), N: fc.integer({ min: 1, max: 5 }), K: fc.integer({ min: 1, max: 9 }),
        ba: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), bb: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
        transA: fc.boolean(), transB: fc.boolean(), ones: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
      })
      .map((r) => {
        // make the batches broadcast-compatible: align right, force mismatches to 1 on one side
        const nd = Math.min(r.ba.length, r.bb.length);
        const ba = r.ba.slice(), bb = r.bb.slice();
        for (let d = 1; d <= nd; d++) {
          if (ba.at(-d) === bb.at(-d)) continue;
          if (r.ones[d - 1]) ba[ba.length - d] = 1;
          else bb[bb.length - d] = 1;
        }
        return { ...r, ba, bb };
      })
      .chain((r) =>
        fc.tuple(
          fc.constant(r),
          tensorArb([...r.ba, ...(r.transA ? [r.K, r.M] : [r.M, r.K])]),
          tensorArb([...r.bb, ...(r.transB ? [r.N, r.K] : [r.K, r.N])]),
        ),
      );
    fc.assert(
      fc.property(arb, ([r, a, b]) => {
        const y = matmul(a, b, { transA: r.transA, transB: r.transB });
        const ref = naive(a, b, r.transA, r.transB);
        expect(y.shape).toEqual(ref.shape);
        for (let i = 0; i < y.size; i++) expect(Math.abs(y.f32[i] - ref.y[i])).toBeLessThanOrEqual(gamma(r.K) * ref.abs[i] + 2 ** -140);
      }),
      { numRuns: 200 },
    );
  });
  it('every 2-D product goes through backend().gemmF32 (batched: one call per batch; shared b: one folded call)', () => {
    const calls: number[][] = [];
    const spy: GemmF32 = (M, N, K, A, B, tb, C) => {
      calls.push([M, N, K]);
      referenceBackend().gemmF32(M, N, K, A, B, tb, C);
    };
    setBackend({ name: 'spy', gemmF32: spy });
    matmul(new Tensor('f32', [2, 3, 4, 5]), new Tensor('f32', [3, 5, 6]));
    expect(calls).toEqual(Array(6).fill([4, 6, 5]));
    calls.length = 0;
    matmul(new Tensor('f32', [2, 3, 4, 5]), new Tensor('f32', [1, 6, 5]), { transB: true });
    expect(calls).toEqual([[24, 6, 5]]);
    calls.length = 0;
    linear(new Tensor('f32', [2, 7, 5]), new Tensor('f32', [3, 5]));
    expect(calls).toEqual([[14, 3, 5]]);
  });
  it('linear adds the bias after the GEMM in float32 and keeps leading dims', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    const w = tensor([1, 0, 0, 0, 1, 1], [2, 3]);
    const y = linear(x, w, tensor([0.5, -1]));
    expect(y.shape).toEqual([1, 2, 2]);
    expect(y.toArray()).toEqual([1.5, 4, 4.5, 10]);
    expect(linear(tensor([2], [1, 1]), tensor([3], [1, 1])).toArray()).toEqual([6]);
  });
  it('rejects bad shapes and dtypes, naming op and shapes', () => {
    expect(() => matmul(new Tensor('f32', [2, 3]), new Tensor('f32', [4, 5]))).toThrow(/matmul: inner dims differ: a \[2,3\] has K=3, b \[4,5\] has K=4/);
    expect(() => matmul(new Tensor('f32', [3]), new Tensor('f32', [3, 5]))).toThrow(ShapeError);
    expect(() => matmul(new Tensor('f32', [2, 2, 3]), new Tensor('f32', [3, 3, 5]))).toThrow(/cannot broadcast/);
    expect(() => linear(new Tensor('f32', [2, 4]), new Tensor('f32', [5, 3]))).toThrow(/linear: input \[2,4\] last dim != weight \[5,3\]/);
    expect(() => linear(new Tensor('f32', [2, 3]), new Tensor('f32', [5, 3]), tensor([1, 2]))).toThrow(/bias \[2\] must be \(5\)/);
    expect(() => matmul(intTensor('i8', [1], [1, 1]) as Tensor<'f32'>, new Tensor('f32', [1, 1]))).toThrow(DTypeError);
  });
});
