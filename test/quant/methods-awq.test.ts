/**
 * AWQ: the scaling is an equivalent transform (float outputs unchanged within the folding budget),
 * the searches never pick worse than their identity candidates, and the two semantics differ
 * exactly where QuantWM's code departs from the paper.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONVENTIONS, fakeQuantizeMinMax } from '../../src/quant/affine.js';
import { bitType } from '../../src/quant/bittype.js';
import { linearF32 } from '../../src/quant/execute.js';
import { PER_CHANNEL, flatGroups } from '../../src/quant/granularity.js';
import { awq, awqScales, awqSearchClip, meanAbs, type InspectFn } from '../../src/quant/methods/awq.js';
import { divideColumns } from '../../src/quant/methods/transforms.js';
import { Linear } from '../../src/nn/linear.js';
import { Mlp } from '../../src/nn/layers.js';
import { tensorFns } from '../../src/nn/fn.js';
import { ShapeError, ValueError } from '../../src/tensor/errors.js';
import { minmaxWeightQuant } from '../../src/quant/plan.js';
import type { NormParams } from '../../src/quant/seam.js';
import { gelu } from '../../src/tensor/ops/activation.js';
import { layerNorm } from '../../src/tensor/ops/norm.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { U32, f32DotBudget } from './budgets.js';
import { outlierInputs, toyBlock } from './toy.js';

function blockInputs(rng: Rng, D: number, hidden: number, N: number) {
  const { targets, norm1, norm2 } = toyBlock(rng, D, hidden);
  const xIn = outlierInputs(rng, N, D, 2, 15);
  const h1 = layerNorm(xIn, norm1.weight, norm1.bias, 1e-6);
  const h2 = layerNorm(xIn, norm2.weight, norm2.bias, 1e-6);
  const qkvOut = linearF32(h1, targets[0].weight, targets[0].bias);
  const v = new Tensor('f32', [N, D], new Float32Array(N * D));
  for (let n = 0; n < N; n++) v.f32.set(qkvOut.f32.subarray(n * 3 * D + 2 * D, n * 3 * D + 3 * D), n * D);
  const fc1Out = gelu(linearF32(h2, targets[2].weight, targets[2].bias));
  const calib = new Map<string, Tensor<'f32'>>([
    [targets[0].name, h1],
    [targets[1].name, v], // attention over one token = v itself
    [targets[2].name, h2],
    [targets[3].name, fc1Out],
  ]);
  return { targets, norm1, norm2, xIn, calib };
}

/** Folding budget per output, as for SmoothQuant: (2γ_K + 8u) Σ_j |W_ij| |h_j| + 2u (|y| + |b|). */
function foldBudget(W: Float32Array, h: Float32Array, K: number, i: number, y: number, b: number): number {
  let c = 0;
  for (let j = 0; j < K; j++) c += Math.abs(W[i * K + j] * h[j]);
  return (2 * f32DotBudget(K, 1) + 8 * U32) * c + 2 * U32 * (Math.abs(y) + Math.abs(b));
}

describe('AWQ', () => {
  it('awqScales: r = 0 gives all ones; normalisation makes sqrt(max·min) = 1', () => {
    const xm = Float32Array.of(0.01, 1, 100, 0);
    expect(Array.from(awqScales(xm, 0))).toEqual([1, 1, 1, 1]);
    const s = awqScales(xm, 0.5);
    expect(Math.sqrt(Math.max(...s) * Math.min(...s))).toBeCloseTo(1, 6);
    expect(Array.from(meanAbs(new Tensor('f32', [2, 2], Float32Array.of(-1, 2, 3, -4))))).toEqual([2, 3]);
  });

  it('property: AWQ scaling (clip off) leaves float LN->fc1, LN->qkv, v->proj and GELU->fc2 outputs unchanged within the folding budget', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16 }), fc.integer({ min: 2, max: 24 }), fc.constantFrom(3, 4, 8), fc.integer(), (D, hidden, bits, seed) => {
        runs++;
        const rng = new Rng(seed);
        const { targets, norm1, norm2, xIn, calib } = blockInputs(rng, D, hidden, 24);
        const res = awq(targets, { calib, clip: false, config: { semantics: 'paper', encoder: { wbits: bits, abits: 16 } } });
        const w = (i: number) => res.weights.get(targets[i].name)!;
        const check = (before: Tensor<'f32'>, after: Tensor<'f32'>, W: Float32Array, h: Tensor<'f32'>, b: Tensor<'f32'> | null, rowsOut: [number, number] = [0, before.shape[1]]) => {
          const [N, O] = before.shape;
          const I = h.shape[1];
          for (let n = 0; n < N; n++) {
            for (let i = rowsOut[0]; i < rowsOut[1]; i++) {
              const k = n * O + i;
              const bud = foldBudget(W, h.f32.subarray(n * I, (n + 1) * I), I, i, before.f32[k], b ? b.f32[i] : 0);
              expect(Math.abs(after.f32[k] - before.f32[k])).toBeLessThanOrEqual(bud);
            }
          }
        };
        const ln = (nrm: NormParams) => layerNorm(xIn, nrm.weight, nrm.bias, 1e-6);
        // LN2 -> fc1
        const h2 = ln(norm2);
        check(linearF32(h2, targets[2].weight, targets[2].bias), linearF32(ln(res.norms.get(norm2.name)!), w(2).weight, w(2).bias), targets[2].weight.f32, h2, targets[2].bias);
        // GELU -> fc2 (ScaledActivation): fc2 with W s on gelu(h) / s, against fc2 on gelu(h);
        // per product W h (1 + 2u) (the divided input's and the scaled weight's roundings), inside the 8u
        const s2 = res.actScales!.get(targets[3].name)!;
        const g = calib.get(targets[3].name)!;
        check(linearF32(g, targets[3].weight, targets[3].bias), linearF32(divideColumns(g, s2.f32), w(3).weight, w(3).bias), targets[3].weight.f32, g, targets[3].bias);
        // LN1 -> qkv, q and k rows only (v rows were divided by the v->proj scales)
        const h1 = ln(norm1);
        check(linearF32(h1, targets[0].weight, targets[0].bias), linearF32(ln(res.norms.get(norm1.name)!), w(0).weight, w(0).bias), targets[0].weight.f32, h1, targets[0].bias, [0, 2 * D]);
        // LN1 -> v -> proj composed
        const sliceV = (t: Tensor<'f32'>) => {
          const N = t.shape[0];
          const v = new Tensor('f32', [N, D], new Float32Array(N * D));
          for (let n = 0; n < N; n++) v.f32.set(t.f32.subarray(n * 3 * D + 2 * D, n * 3 * D + 3 * D), n * D);
          return v;
        };
        const vBefore = sliceV(linearF32(h1, targets[0].weight, targets[0].bias));
        const vAfter = sliceV(linearF32(ln(res.norms.get(norm1.name)!), w(0).weight, w(0).bias));
        const yB = linearF32(vBefore, targets[1].weight, targets[1].bias);
        const yA = linearF32(vAfter, w(1).weight, w(1).bias);
        // two products in sequence: proj's own folding budget on |v|, plus v's folding error
        // (the qkv budget of its v rows, c_v) propagated through |W_proj|
        const [N] = yB.shape;
        for (let n = 0; n < N; n++) {
          for (let i = 0; i < D; i++) {
            const eps = 2 * f32DotBudget(D, 1) + 8 * U32;
            let cProj = 0; // Σ_j |Wp_ij| |v_j|: proj's own folding budget
            let cV = 0; // Σ_j |Wp_ij| eps Σ_k |Wqkv_vj,k| |h_k|: v's folding error carried through proj
            for (let j = 0; j < D; j++) {
              let hv = 0;
              for (let k = 0; k < D; k++) hv += Math.abs(targets[0].weight.f32[(2 * D + j) * D + k] * h1.f32[n * D + k]);
              const wp = Math.abs(targets[1].weight.f32[i * D + j]);
              cProj += wp * Math.abs(vBefore.f32[n * D + j]);
              cV += wp * eps * hv;
            }
            const bud = eps * cProj + cV + 2 * U32 * (Math.abs(yB.f32[n * D + i]) + Math.abs(targets[1].bias!.f32[i]));
            expect(Math.abs(yA.f32[n * D + i] - yB.f32[n * D + i])).toBeLessThanOrEqual(bud);
          }
        }
      }),
      { numRuns: 40 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('searches never choose worse than identity: scale loss <= loss at r = 0, clip error <= no-clip error', () => {
    const rng = new Rng(21);
    const { targets, calib } = blockInputs(rng, 16, 32, 64);
    for (const semantics of ['quantwm', 'paper'] as const) {
      const res = awq(targets, { calib, config: { semantics, encoder: { wbits: 3, abits: 16 }, groupSize: 8 } });
      let scaled = 0;
      for (const l of res.plan.layers) {
        for (const t of l.transforms) {
          if (t.kind === 'smooth') {
            scaled++;
            const best = Math.min(...t.losses!);
            expect(t.losses!.length).toBe(20);
            expect(t.losses![Math.round(t.ratio! * 20)]).toBe(best);
            expect(best).toBeLessThanOrEqual(t.losses![0]);
          }
          if (t.kind === 'clip') for (let k = 0; k < t.error.length; k++) expect(t.error[k]).toBeLessThanOrEqual(t.errorNoClip[k]);
        }
      }
      expect(scaled).toBe(semantics === 'quantwm' ? 1 : 4); // quantwm: fc1 only; paper: qkv, proj (v->proj), fc1, fc2 (GELU->fc2)
    }
  });

  it("'quantwm' deploys RTN_stale(clip(W s)): parameters from the ORIGINAL weights; 'paper' recomputes awq-asym parameters", () => {
    const rng = new Rng(22);
    const { targets, calib } = blockInputs(rng, 16, 32, 64);
    const q = awq(targets, { calib, config: { semantics: 'quantwm', encoder: { wbits: 4, abits: 16 } } });
    const p = awq(targets, { calib, config: { semantics: 'paper', encoder: { wbits: 4, abits: 16 } } });
    for (const [i, t] of targets.entries()) {
      const staleRef = minmaxWeightQuant(t.weight, 4, PER_CHANNEL);
      expect(q.plan.layers[i].weight!.qparams).toEqual(staleRef.qparams);
      expect(q.plan.layers[i].weight!.rule).toBe('minmax-sym');
      const fresh = fakeQuantizeMinMax(p.weights.get(t.name)!.weight, PER_CHANNEL, { range: bitType(4, false), rule: 'awq-asym', convention: CONVENTIONS.onnx });
      expect(p.plan.layers[i].weight!.qparams).toEqual(fresh.qparams);
    }
  });

  it('the inspect closure sees the semantics (where the predictor reproduces its double LayerNorm)', () => {
    const rng = new Rng(23);
    const { targets, calib, norm2 } = blockInputs(rng, 8, 16, 32);
    const seen: string[] = [];
    const fc2 = targets[3];
    const inspect: InspectFn = (x, [w1], ctx) => {
      seen.push(ctx.semantics);
      // QuantWM's predictor inspects ff = [LN, fc1, GELU, fc2] on the LN output: LN twice
      const h = ctx.semantics === 'quantwm' ? layerNorm(x, norm2.weight, norm2.bias, 1e-5) : x;
      return linearF32(gelu(linearF32(h, w1, targets[2].bias)), fc2.weight, fc2.bias);
    };
    awq(targets, { calib, inspect: new Map([[targets[2].name, inspect]]), config: { encoder: { wbits: 4, abits: 16 } } });
    awq(targets, { calib, inspect: new Map([[targets[2].name, inspect]]), config: { semantics: 'paper', encoder: { wbits: 4, abits: 16 } } });
    expect(seen.filter((s) => s === 'quantwm').length).toBe(21); // reference + 20 ratios
    expect(seen.filter((s) => s === 'paper').length).toBe(21);
  });

  it('clip groups: G when it divides in_features, else the whole row (QuantWM for 404-wide layers)', () => {
    const rng = new Rng(24);
    const w = rng.normalTensor([32, 404]);
    const x = rng.normalTensor([40, 404]);
    const pq = (t: Tensor<'f32'>) => fakeQuantizeMinMax(t, flatGroups(128), { range: bitType(4, false), rule: 'awq-asym', convention: CONVENTIONS.onnx }).xq;
    expect(awqSearchClip(w, x, 128, pq).groupSize).toBe(404);
    expect(awqSearchClip(rng.normalTensor([4, 256]), rng.normalTensor([10, 256]), 128, pq).groupSize).toBe(128);
  });

  it("GELU -> fc2 only under 'paper': 'quantwm' returns no activation scales and leaves fc2's columns unscaled", () => {
    const rng = new Rng(25);
    const { targets, calib } = blockInputs(rng, 8, 16, 32);
    const q = awq(targets, { calib, clip: false, config: { semantics: 'quantwm', encoder: { wbits: 4, abits: 16 } } });
    expect(q.actScales).toBeUndefined();
    expect(q.weights.get(targets[3].name)!.weight).toBe(targets[3].weight);
    expect(q.plan.layers[3].transforms).toEqual([]);
    const p = awq(targets, { calib, clip: false, config: { semantics: 'paper', encoder: { wbits: 4, abits: 16 } } });
    const s = p.actScales!.get(targets[3].name)!;
    expect(s.shape).toEqual([16]);
    const t = p.plan.layers[3].transforms[0];
    expect(t).toMatchObject({ kind: 'smooth', by: 'awq', prev: `gelu(${targets[2].name})` });
    expect(t.kind === 'smooth' && Array.from(t.scales)).toEqual(Array.from(s.f32));
  });

  it('Mlp.actScale: fc2 sees gelu(fc1 x) / s, bit for bit; null gives the plain MLP; bad scales are typed errors', () => {
    const rng = new Rng(26);
    const fc1 = new Linear('m.fc1', rng.normalTensor([12, 5]), rng.normalTensor([12]));
    const fc2 = new Linear('m.fc2', rng.normalTensor([5, 12]), rng.normalTensor([5]));
    const mlp = new Mlp(fc1, fc2);
    const x = rng.normalTensor([2, 3, 5]);
    const plain = mlp.forward(tensorFns, x).f32.slice();
    const s = new Tensor('f32', [12], Float32Array.from({ length: 12 }, () => Math.fround(0.25 + rng.uniform() * 4)));
    mlp.actScale = s;
    const h = tensorFns.gelu(fc1.forward(tensorFns, x)).reshape([6, 12]);
    const want = linearF32(divideColumns(h, s.f32), fc2.weight, fc2.bias).f32;
    expect(Array.from(mlp.forward(tensorFns, x).f32)).toEqual(Array.from(want));
    mlp.actScale = null;
    expect(Array.from(mlp.forward(tensorFns, x).f32)).toEqual(Array.from(plain));
    expect(() => (mlp.actScale = new Tensor('f32', [5], new Float32Array(5).fill(1)))).toThrow(ShapeError);
    expect(() => (mlp.actScale = new Tensor('f32', [12], new Float32Array(12)))).toThrow(ValueError);
  });
});
