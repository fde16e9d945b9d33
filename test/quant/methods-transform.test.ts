/**
 * SmoothQuant (transform invariance and plan), GPTQ (vs RTN on its own grid, exact cases).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linearF32 } from '../../src/quant/execute.js';
import { gptq, gptqHessian, gptqLayer, gptqRtn, inverseCholeskyUpper, layerOutputError } from '../../src/quant/methods/gptq.js';
import { smoothQuant, smoothScales } from '../../src/quant/methods/smoothquant.js';
import { layerNorm } from '../../src/tensor/ops/norm.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { ValueError } from '../../src/tensor/errors.js';
import type { NormParams } from '../../src/quant/seam.js';
import { U32, f32DotBudget } from './budgets.js';
import { correlatedInputs, outlierInputs, toyBlock } from './toy.js';

const fr = Math.fround;

/**
 * Budget for LN -> Linear before vs after folding a per-channel scale s into (γ, β) and W:
 * every stored value of the transformed path (γ/s, β/s, W s, the LN output, the products) is
 * one more float32 rounding of a term whose exact value equals the original term, so per output
 *   |y' - y| <= (2 γ_K + 8u) Σ_j |W_ij| (|n_j γ_j| + |β_j|) + 2u (|y_i| + |b_i|)
 * (n = the normalized input, shared; γ_K the dot-product bound of both GEMMs; 2u for the bias adds).
 */
function invarianceBudget(W: Float32Array, n: Float32Array, g: Float32Array, b: Float32Array, y: number, bias: number, i: number, K: number): number {
  let c = 0;
  for (let j = 0; j < K; j++) c += Math.abs(W[i * K + j]) * (Math.abs(n[j] * g[j]) + Math.abs(b[j]));
  return (2 * f32DotBudget(K, 1) + 8 * U32) * c + 2 * U32 * (Math.abs(y) + Math.abs(bias));
}

function lnLinear(x: Tensor<'f32'>, nrm: NormParams, w: Tensor<'f32'>, b: Tensor<'f32'> | null): Tensor<'f32'> {
  return linearF32(layerNorm(x, nrm.weight, nrm.bias, 1e-6), w, b);
}

describe('SmoothQuant', () => {
  it('worked number: act 16, wmax 0.25, alpha 0.5 -> s = 4 / 0.5 = 8; floors at 1e-5', () => {
    expect(Array.from(smoothScales(Float32Array.of(16, 0), Float32Array.of(0.25, 0), 0.5))).toEqual([8, 1]);
  });

  it('property: smoothing leaves the float LN -> Linear output unchanged within (2γ_K + 8u)Σ|W||LN| + 2u(|y|+|b|)', () => {
    let runs = 0;
    let checked = 0;
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.integer(), (D, hidden, alpha, seed) => {
        runs++;
        const rng = new Rng(seed);
        const { targets } = toyBlock(rng, D, hidden);
        const xIn = outlierInputs(rng, 12, D, 1, 30); // the block input, before the LayerNorm
        const calib = new Map<string, Tensor<'f32'>>();
        for (const t of targets) {
          calib.set(t.name, t.prevNorm ? layerNorm(xIn, t.prevNorm.weight, t.prevNorm.bias, 1e-6) : rng.normalTensor([12, t.weight.shape[1]]));
        }
        const res = smoothQuant(targets, { calib, alpha, config: { encoder: { wbits: 16, abits: 16 } } });
        const nrm = layerNorm(xIn, null, null, 1e-6).f32;
        for (const t of targets.filter((q) => q.prevNorm)) {
          const before = lnLinear(xIn, t.prevNorm!, t.weight, t.bias).f32;
          const after = lnLinear(xIn, res.norms.get(t.prevNorm!.name)!, res.weights.get(t.name)!.weight, t.bias).f32;
          const [O] = t.weight.shape;
          for (let r = 0; r < 12; r++) {
            for (let i = 0; i < O; i++) {
              const k = r * O + i;
              const bud = invarianceBudget(t.weight.f32, nrm.subarray(r * D, (r + 1) * D), t.prevNorm!.weight.f32, t.prevNorm!.bias.f32, before[k], t.bias ? t.bias.f32[i] : 0, i, D);
              expect(Math.abs(after[k] - before[k]), `${t.name} row ${r} out ${i}`).toBeLessThanOrEqual(bud);
              checked++;
            }
          }
        }
      }),
      { numRuns: 60 },
    );
    expect(runs).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(0);
  });

  it('plan: LN->qkv and LN->fc1 smoothed (audit scales), proj/fc2 untouched; act calibration on x / s', () => {
    const rng = new Rng(5);
    const { targets, norm1 } = toyBlock(rng, 8, 16);
    const calib = new Map(targets.map((t) => [t.name, outlierInputs(rng, 20, t.weight.shape[1], 1, 25)]));
    const res = smoothQuant(targets, { calib, config: { encoder: { wbits: 8, abits: 8 } } });
    const byName = new Map(res.plan.layers.map((l) => [l.name, l]));
    const qkv = byName.get(targets[0].name)!;
    expect(qkv.transforms[0]).toMatchObject({ kind: 'smooth', by: 'smoothquant', prev: norm1.name, alpha: 0.5 });
    expect(byName.get(targets[1].name)!.transforms).toEqual([]);
    expect(byName.get(targets[3].name)!.transforms).toEqual([]);
    expect(res.norms.size).toBe(2);
    // activation range after smoothing is flatter than before: the outlier channel is divided by s > 1
    const s = (qkv.transforms[0] as { scales: Float32Array }).scales;
    expect(Math.max(...s)).toBeGreaterThan(1);
    expect(qkv.weight!.rule).toBe('minmax-sym');
    const paper = smoothQuant(targets, { calib, config: { semantics: 'paper', act: 'per-token' } });
    expect(paper.plan.layers[0].weight!.rule).toBe('absmax-floor');
    expect(paper.plan.layers[0].act).toMatchObject({ signed: true, rule: 'absmax-floor', granularity: 'per-token' });
  });
});

describe('GPTQ', () => {
  it('inverseCholeskyUpper: Uᵀ U = H⁻¹ (H U ᵀU = I to 1e-9)', () => {
    const x = correlatedInputs(new Rng(9), 80, 12);
    const H = gptqHessian(x);
    for (let d = 0; d < 12; d++) H[d * 12 + d] += 0.01;
    const U = inverseCholeskyUpper(H, 12);
    for (let a = 0; a < 12; a++) {
      for (let b = 0; b < 12; b++) {
        let s = 0;
        for (let k = 0; k < 12; k++) {
          let hinv = 0;
          for (let m = 0; m < 12; m++) hinv += U[m * 12 + k] * U[m * 12 + b];
          s += H[a * 12 + k] * hinv;
        }
        expect(Math.abs(s - (a === b ? 1 : 0))).toBeLessThan(1e-9);
      }
      for (let b = 0; b < a; b++) expect(U[a * 12 + b]).toBe(0);
    }
  });

  it('with uncorrelated inputs (diagonal H) GPTQ has nothing to feed back: equals RTN on its grid, bit for bit', () => {
    const rng = new Rng(4);
    const I = 10;
    const x = new Tensor('f32', [I * 3, I]);
    for (let n = 0; n < I * 3; n++) x.f32[n * I + (n % I)] = fr(1 + rng.uniform()); // one nonzero per row
    const w = rng.normalTensor([6, I]);
    for (const bits of [2, 3, 4, 8]) {
      const r = gptqLayer(w, x, { bits });
      expect(Array.from(r.weightHat.f32)).toEqual(Array.from(gptqRtn(w, bits, -1).f32));
    }
  });

  // A layer's error averages over its rows; GPTQ's greedy column order can lose to RTN on a single
  // row (on layers of 4-7 rows we measured ratios up to 1.9), so the property is stated for layers
  // of >= 32 rows, where it held with a worst ratio of 0.65 over 2000 fast-check layers
  // (2-4 bits, per channel and groups of 8/16, act-order, block 4/128).
  it(`property: on correlated inputs GPTQ's layer output error is at most 0.8x RTN's on the same grid (layers of >= 32 rows; measured worst 0.65 over 2000 layers)`, () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.record({
          rows: fc.integer({ min: 32, max: 64 }),
          inF: fc.integer({ min: 16, max: 48 }),
          nMul: fc.integer({ min: 2, max: 4 }),
          bits: fc.integer({ min: 2, max: 4 }),
          group: fc.constantFrom(-1, 8, 16),
          actOrder: fc.boolean(),
          staticGroups: fc.boolean(),
          blockSize: fc.constantFrom(4, 128),
          seed: fc.integer(),
        }),
        ({ rows, inF, nMul, bits, group, actOrder, staticGroups, blockSize, seed }) => {
          runs++;
          const rng = new Rng(seed);
          const x = correlatedInputs(rng, nMul * inF, inF);
          const w = rng.normalTensor([rows, inF]);
          const r = gptqLayer(w, x, { bits, groupSize: group, actOrder, staticGroups: staticGroups || (actOrder && group !== -1), blockSize });
          const eg = layerOutputError(x, w, r.weightHat);
          const er = layerOutputError(x, w, gptqRtn(w, bits, group));
          expect(eg).toBeLessThanOrEqual(0.8 * er);
          expect(r.lossPerColumn.length).toBe(inF);
          expect(r.perm === null).toBe(!actOrder);
        },
      ),
      { numRuns: 80 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('dead columns are zeroed; codes and group params re-create Ŵ exactly; method plan audits both errors', () => {
    const rng = new Rng(8);
    const x = correlatedInputs(rng, 64, 20);
    for (let n = 0; n < 64; n++) x.f32[n * 20 + 3] = 0; // column 3 never fires
    const w = rng.normalTensor([5, 20]);
    const r = gptqLayer(w, x, { bits: 4, groupSize: 8 });
    for (let o = 0; o < 5; o++) {
      const g = Math.floor(3 / 8);
      expect(r.weightHat.f32[o * 20 + 3]).toBe(fr((r.q[o * 20 + 3] - r.zeros[o * 3 + g]) * r.scales[o * 3 + g]));
      for (let c = 0; c < 20; c++) {
        const gg = Math.floor(c / 8);
        expect(r.weightHat.f32[o * 20 + c]).toBe(fr((r.q[o * 20 + c] - r.zeros[o * 3 + gg]) * r.scales[o * 3 + gg]));
      }
    }
    expect(() => gptqLayer(w, x, { bits: 4, groupSize: 8, actOrder: true })).toThrow(/staticGroups/);
    expect(() => gptqLayer(w, x, { bits: 9 })).toThrow(ValueError);

    const { targets } = toyBlock(rng, 16, 24);
    const calib = new Map(targets.map((t) => [t.name, correlatedInputs(rng, 96, t.weight.shape[1])]));
    const res = gptq(targets, { calib, config: { encoder: { wbits: 3, abits: 16 }, groupSize: 8, groupLayout: 'row-aligned' } });
    for (const l of res.plan.layers) {
      const tr = l.transforms[0];
      if (tr.kind !== 'gptq') throw new Error('expected a gptq transform');
      expect(tr.errorGptq).toBeLessThan(tr.errorRtn);
      expect(l.weight!.rule).toBe('gptq-asym');
    }
    expect(() => gptq([{ ...targets[0], weight: rng.normalTensor([48, 20]), prevNorm: undefined }], { calib: new Map([[targets[0].name, correlatedInputs(rng, 40, 20)]]), config: { groupSize: 8 } })).toThrow(/row-aligned/);
  });
});
