/**
 * Integer Linear vs the fake-quant reference. Budgets (see src/quant/integer-linear.ts):
 *   W4A16 and the f32 fallback: 0 (bit for bit, reference backend: k-ascending f32 accumulation);
 *   W8A8 (int8 GEMM) and W4A8 (int4 GEMM): INT_PATH(K) = (2 γ_K + 7u) Σ_k |x̂_k ŵ_k| + 2u (|y| + |b|),
 *   the float32 reassociation of an exact integer dot and the placement of the scale products.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeQuantActivation, installFakeQuant } from '../../src/quant/execute.js';
import { IntegerLinear, installInteger } from '../../src/quant/integer-linear.js';
import { rtn } from '../../src/quant/methods/rtn.js';
import { gptq } from '../../src/quant/methods/gptq.js';
import { minmaxWeightQuant, type MethodResult } from '../../src/quant/plan.js';
import { flatGroups } from '../../src/quant/granularity.js';
import { referenceBackend, setBackend } from '../../src/tensor/backend.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { allocF32, heapPtr, withArena } from '../../src/tensor/fast/stage.js';
import { U32, f32DotBudget } from './budgets.js';
import { correlatedInputs, outlierInputs, target } from './toy.js';

/** Sizes around the kernels' tiles (MR 4, NR 8, k-pairs), per STYLE item 4. */
const dimAroundTile = (tile: number) => fc.constantFrom(1, tile - 1, tile, tile + 1, 2 * tile + 1);

function intBudget(xq: Float32Array, wq: Float32Array, K: number, m: number, n: number, y: number, b: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.abs(xq[m * K + k] * wq[n * K + k]);
  return (2 * f32DotBudget(K, 1) + 7 * U32) * s + 2 * U32 * (Math.abs(y) + Math.abs(b));
}

function compare(res: MethodResult, x: Tensor<'f32'>, counts: Record<string, number>): void {
  const fq = installFakeQuant(res);
  const it = installInteger(res);
  for (const layer of res.plan.layers) {
    const f = fq.get(layer.name)!;
    const i = it.get(layer.name)!;
    const yf = f.forward(x).f32;
    const yi = i.forward(x).f32;
    counts[i.kind] = (counts[i.kind] ?? 0) + 1;
    const [M, K] = x.shape;
    const N = layer.outFeatures;
    if (i.kind === 'w4a16-int4-gemm' || i.kind === 'dequant-f32') {
      expect(new Uint32Array(yi.buffer), `${i.kind} ${layer.name}`).toEqual(new Uint32Array(yf.buffer));
    } else {
      const xq = fakeQuantActivation(x, layer.act!).f32;
      const wq = f.weightHat.f32;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          const b = f.bias ? f.bias.f32[n] : 0;
          const bud = intBudget(xq, wq, K, m, n, yf[m * N + n], b);
          expect(Math.abs(yi[m * N + n] - yf[m * N + n]), `${i.kind} ${layer.name} (${m}, ${n}) M×N×K=${M}×${N}×${K}`).toBeLessThanOrEqual(bud);
        }
      }
    }
    i.free();
  }
}

describe('integer Linear = fake-quant Linear (W4A16 bit for bit; W8A8, W4A8 within INT_PATH(K))', () => {
  it('property over kernels, bit widths, granularities, per-tensor / per-token inputs, sizes around tiles', () => {
    const prev = setBackend(referenceBackend());
    const counts: Record<string, number> = {};
    let runs = 0;
    try {
      fc.assert(
        fc.property(
          dimAroundTile(4),
          dimAroundTile(8),
          fc.constantFrom(2, 6, 16, 33),
          fc.constantFrom(3, 4, 8),
          fc.constantFrom(4, 8, 16),
          fc.constantFrom('per-tensor', 'per-token'),
          fc.constantFrom(-1, 2, 8),
          fc.boolean(),
          fc.integer(),
          (M, N, K, wbits, abits, act, group, positiveTokens, seed) => {
            runs++;
            const rng = new Rng(seed);
            const t = target(rng, 'lin', N, K, {}, rng.uniform() < 0.7);
            const G = group === -1 || K % group !== 0 ? -1 : group;
            const x = outlierInputs(rng, M, K, 1, 6);
            if (positiveTokens) for (let i = 0; i < x.size; i++) x.f32[i] = Math.abs(x.f32[i]) + 0.5; // per-token z < 0: exact rows
            const res = rtn([t], {
              calib: new Map([['lin', x]]),
              config: { encoder: { wbits, abits }, act: act as 'per-tensor' | 'per-token', groupSize: G, groupLayout: 'row-aligned' },
            });
            compare(res, x, counts);
          },
        ),
        { numRuns: 250 },
      );
    } finally {
      setBackend(prev);
    }
    expect(runs).toBeGreaterThan(0);
    for (const k of ['w8a8-int8-gemm', 'w4a8-int4-gemm', 'w4a16-int4-gemm', 'dequant-f32']) expect(counts[k] ?? 0, k).toBeGreaterThan(0);
  });

  it('asymmetric unsigned weights (GPTQ codes) run on both kernels: W4 groups on int4, W8 per row on int8 (codes shifted by 128)', () => {
    const prev = setBackend(referenceBackend());
    try {
      const rng = new Rng(12);
      const t = target(rng, 'g', 12, 32);
      const x = correlatedInputs(rng, 40, 32);
      const counts: Record<string, number> = {};
      for (const [wbits, G] of [[4, 8], [8, -1]] as const) {
        const res = gptq([t], { calib: new Map([['g', x]]), config: { encoder: { wbits, abits: 8 }, groupSize: G, groupLayout: 'row-aligned' } });
        compare(res, x, counts);
      }
      expect(counts).toEqual({ 'w4a8-int4-gemm': 1, 'w8a8-int8-gemm': 1 });
    } finally {
      setBackend(prev);
    }
  });

  it("QuantWM's flat groups with an odd gcd(in, G) stay on Ŵ in f32 (with the reason), still equal to fake-quant", () => {
    const rng = new Rng(13);
    const t = target(rng, 'p', 2, 9); // 18 elements, flat groups of 6: sub-groups of gcd(9, 6) = 3, odd
    const x = rng.normalTensor([5, 9]);
    for (const abits of [8, 16]) {
      const res = rtn([t], { calib: new Map([['p', x]]), config: { encoder: { wbits: 4, abits }, groupSize: 6 } });
      const i = new IntegerLinear(res.plan.layers[0], res.weights.get('p')!);
      expect(i.kind).toBe('dequant-f32');
      expect(i.reason).toMatch(/gcd\(9, 6\) = 3 they are odd/);
      expect(Array.from(i.forward(x).f32)).toEqual(Array.from(installFakeQuant(res).get('p')!.forward(x).f32));
    }
  });
});

/** (N, K, G) with flat groups of G straddling rows of K (K % G != 0, G % K != 0, N·K % G == 0) and gcd(K, G) even. */
const straddling = fc.oneof(
  fc.constantFrom([8, 84, 32], [32, 404, 128], [8, 148, 32], [16, 84, 32], [4, 10, 8]),
  fc
    .record({ K: fc.integer({ min: 3, max: 70 }), G: fc.constantFrom(4, 6, 8, 12, 16, 32, 64), mult: fc.integer({ min: 1, max: 2 }) })
    .map(({ K, G, mult }) => {
      const g = gcd(K, G);
      return [mult * (G / g), K, G];
    })
    .filter(([, K, G]) => K % G !== 0 && G % K !== 0 && gcd(K, G) % 2 === 0),
);

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

describe("QuantWM's flat groups straddling rows on the int4 kernels (row-aligned sub-groups of gcd(in, G)): W4A16 bit for bit, W4A8 within INT_PATH(K)", () => {
  it('property: in 84 / 404 / 148 with G 32 / 128 and random shapes; signed RTN and unsigned awq-asym codes; float, per-tensor and per-token inputs', () => {
    const prev = setBackend(referenceBackend());
    const counts: Record<string, number> = {};
    const seenK = new Set<number>();
    let runs = 0;
    try {
      fc.assert(
        fc.property(
          straddling,
          fc.constantFrom(1, 3, 5),
          fc.constantFrom(2, 3, 4),
          fc.constantFrom(8, 16),
          fc.constantFrom('per-tensor', 'per-token'),
          fc.boolean(),
          fc.integer(),
          ([N, K, G], M, wbits, abits, act, unsigned, seed) => {
            runs++;
            seenK.add(K);
            const rng = new Rng(seed);
            const t = target(rng, 'lin', N, K, {}, rng.uniform() < 0.7);
            const x = outlierInputs(rng, M, K, 1, 6);
            let res = rtn([t], {
              calib: new Map([['lin', x]]),
              config: { encoder: { wbits, abits }, act: act as 'per-tensor' | 'per-token', groupSize: G, groupLayout: 'flat' },
            });
            if (unsigned) {
              // AWQ's pseudo-quantizer on flat groups: u-b codes with zero points per flat group
              const weight = minmaxWeightQuant(t.weight, wbits, flatGroups(G), 'awq-asym', 'onnx', false);
              res = { ...res, plan: { ...res.plan, layers: [{ ...res.plan.layers[0], weight }] } };
            }
            const i = new IntegerLinear(res.plan.layers[0], res.weights.get('lin')!);
            expect(i.kind, `${N}×${K} G ${G}: ${i.reason}`).toBe(abits === 16 ? 'w4a16-int4-gemm' : 'w4a8-int4-gemm');
            i.free();
            compare(res, x, counts);
          },
        ),
        { numRuns: 120 },
      );
    } finally {
      setBackend(prev);
    }
    expect(runs).toBe(120);
    for (const K of [84, 404, 148]) expect(seenK.has(K), `in = ${K} drawn`).toBe(true);
    for (const k of ['w4a8-int4-gemm', 'w4a16-int4-gemm']) expect(counts[k] ?? 0, k).toBeGreaterThan(0);
  });

  it('flat groups spanning whole rows (G a multiple of in) are one scale per row: W8A8 on the int8 kernel', () => {
    const prev = setBackend(referenceBackend());
    try {
      const rng = new Rng(14);
      const t = target(rng, 'w', 6, 12); // G 24 = 2 rows per flat group
      const x = outlierInputs(rng, 7, 12, 1, 6);
      const counts: Record<string, number> = {};
      for (const wbits of [4, 8]) {
        const res = rtn([t], { calib: new Map([['w', x]]), config: { encoder: { wbits, abits: 8 }, groupSize: 24, groupLayout: 'flat' } });
        compare(res, x, counts);
      }
      expect(counts).toEqual({ 'w8a8-int8-gemm': 2 });
    } finally {
      setBackend(prev);
    }
  });
});

describe('arena-resident tensors (src/tensor/fast/stage.ts): x read in place and y written in place give the same bits', () => {
  it('W8A8 and W4A8 per token and per tensor, W4A16: forward inside withArena == forward on ordinary arrays', () => {
    const rng = new Rng(31);
    const K = 48;
    const t = target(rng, 'a', 20, K);
    const x = outlierInputs(rng, 9, K, 1, 6);
    const kinds: string[] = [];
    for (const [wbits, abits, act, G] of [[8, 8, 'per-token', -1], [8, 8, 'per-tensor', -1], [4, 8, 'per-token', 16], [4, 8, 'per-tensor', 16], [4, 16, 'per-tensor', 16]] as const) {
      const res = rtn([t], { calib: new Map([['a', x]]), config: { encoder: { wbits, abits }, act, groupSize: G, groupLayout: 'row-aligned' } });
      const il = new IntegerLinear(res.plan.layers[0], res.weights.get('a')!);
      kinds.push(il.kind);
      const plain = il.forward(x).f32;
      let inHeap = false;
      const arena = withArena(() => {
        const xh = allocF32(x.size);
        xh.set(x.f32);
        const y = il.forward(new Tensor('f32', x.shape, xh)).f32;
        inHeap = heapPtr(xh) >= 0 && heapPtr(y) >= 0;
        return y;
      });
      expect(inHeap, 'x and y in the heap').toBe(true);
      expect(new Uint32Array(arena.buffer, arena.byteOffset, arena.length), `${il.kind} ${act}`).toEqual(new Uint32Array(plain.buffer));
      il.free();
    }
    expect(kinds).toEqual(['w8a8-int8-gemm', 'w8a8-int8-gemm', 'w4a8-int4-gemm', 'w4a8-int4-gemm', 'w4a16-int4-gemm']);
  });
});
