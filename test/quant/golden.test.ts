/**
 * Golden tests against PyTorch 1.13 (fixture made by scripts/golden/quant.py): torch's fake_quantize
 * ops and QuantWM's quantizer formulas computed in float32 torch, on inputs with exact ties.
 * Budget: 0 — every scale, zero point, code and fake-quant value must match bit for bit
 * (float32 bit patterns, sign of zero included). OMSE's reported error is the one exception:
 * torch sums it in float32, we in float64 (relative budget 1e-5 = 100 ulp of a sum of <= 404 terms).
 */
import { describe, expect, it } from 'vitest';
import { Tensor, tensor } from '../../src/tensor/tensor.js';
import {
  CONVENTIONS,
  chooseQParams,
  fakeQuantize,
  groupMinMax,
  quantize,
  type Convention,
  type QParams,
} from '../../src/quant/affine.js';
import { bitType } from '../../src/quant/bittype.js';
import { PER_CHANNEL, PER_TENSOR, PER_TOKEN, flatGroups, groupLayout, type Granularity } from '../../src/quant/granularity.js';
import { MinMaxObserver } from '../../src/quant/observers/minmax.js';
import { omseActivationSearch, omseWeightSearch } from '../../src/quant/observers/omse.js';
import { PercentileObserver } from '../../src/quant/observers/percentile.js';
import { bitDiffMessage, firstBitDiff, loadQuantFixture, type FixtureCase } from './fixture.js';

const fixture = loadQuantFixture();
const byKind = (kind: string): FixtureCase[] => {
  const cs = fixture.cases.filter((c) => c.kind === kind);
  if (cs.length === 0) throw new Error(`fixture has no '${kind}' case`); // refuse a vacuous pass
  return cs;
};
const f32 = (c: FixtureCase, k: string): Float32Array => {
  const t = c.tensors[k];
  if (!t) throw new Error(`${c.name}: no tensor '${k}'`);
  return Float32Array.from(t.data);
};
const asTensor = (c: FixtureCase, k: string): Tensor<'f32'> => tensor(f32(c, k), c.tensors[k].shape);

function expectBits(what: string, ours: Float32Array, ref: Float32Array, x?: Float32Array): void {
  expect(ours.length, `${what}: length`).toBe(ref.length);
  const i = firstBitDiff(ours, ref);
  expect(i, i < 0 ? '' : bitDiffMessage(what, i, ours, ref, x)).toBe(-1);
}

/** ŷ for weights stored as codes q: y = fr((q - z) s), the one float op torch does after the codes. */
function codesMatch(what: string, ours: Tensor, q: Int8Array | Int32Array | Float32Array): void {
  const o = Int32Array.from(ours.data as ArrayLike<number>);
  const r = Int32Array.from(q);
  let bad = -1;
  for (let i = 0; i < o.length; i++) if (o[i] !== r[i]) { bad = i; break; }
  expect(bad, bad < 0 ? '' : `${what}: code mismatch at ${bad}: ours ${o[bad]} vs torch ${r[bad]}`).toBe(-1);
}

function layoutOf(shape: readonly number[], g: Granularity) {
  return groupLayout(shape, g);
}

describe(`golden vs PyTorch ${fixture.torch}: bit for bit (budget 0)`, () => {
  it('fixture carries exact ties (x / s = k + 0.5 in float32) for the rounding tests', () => {
    const withTies = fixture.cases.filter((c) => (c.ties ?? 0) > 0);
    expect(withTies.length).toBeGreaterThanOrEqual(10);
  });

  describe('torch.fake_quantize_per_tensor_affine = convention "torch" (x * fr(1/s))', () => {
    for (const c of byKind('torch_per_tensor')) {
      it(`${c.name} (${c.ties} ties)`, () => {
        const x = asTensor(c, 'x');
        const p = c.params as { scale: number; zero_point: number; qmin: number; qmax: number };
        const qp: QParams = { scale: Float32Array.of(p.scale), zeroPoint: Float32Array.of(p.zero_point) };
        const y = fakeQuantize(x, qp, layoutOf(x.shape, PER_TENSOR), p, CONVENTIONS.torch).f32;
        const ref = f32(c, 'y');
        // torch casts z + nearbyint(x * inv) to int64 before clamping; beyond 2^63 that cast is
        // undefined behaviour (x86 gives INT64_MIN, so torch sends +1e30 AND -1e30 to qmin). We
        // clamp in float, the documented intent: such entries saturate to their own side.
        const inv = Math.fround(1 / p.scale);
        let overflow = 0;
        for (let i = 0; i < y.length; i++) {
          if (Math.abs(Math.fround(x.f32[i] * inv)) < 2 ** 63) continue;
          overflow++;
          const side = x.f32[i] > 0 ? p.qmax : p.qmin;
          expect(y[i]).toBe(Math.fround((side - p.zero_point) * p.scale));
          expect(ref[i], 'torch maps an int64 overflow to qmin').toBe(Math.fround((p.qmin - p.zero_point) * p.scale));
          y[i] = ref[i];
        }
        expect(overflow).toBe(2);
        expectBits(c.name, y, ref, x.f32);
      });
    }
    it('the division form ("onnx") differs from torch on some ties: the convention is observable', () => {
      let differ = 0;
      for (const c of byKind('torch_per_tensor')) {
        const x = asTensor(c, 'x');
        const p = c.params as { scale: number; zero_point: number; qmin: number; qmax: number };
        const qp: QParams = { scale: Float32Array.of(p.scale), zeroPoint: Float32Array.of(p.zero_point) };
        const y = fakeQuantize(x, qp, layoutOf(x.shape, PER_TENSOR), p, CONVENTIONS.onnx);
        const ref = f32(c, 'y');
        for (let i = 0; i < ref.length; i++) if (y.f32[i] !== ref[i]) differ++;
      }
      expect(differ).toBeGreaterThan(0);
    });
  });

  describe('torch.fake_quantize_per_channel_affine = convention "torch", per-channel layout', () => {
    for (const c of byKind('torch_per_channel')) {
      it(c.name, () => {
        const x = asTensor(c, 'x');
        const axis = c.params.axis as 0 | 1;
        const qp: QParams = { scale: f32(c, 'scale'), zeroPoint: f32(c, 'zero_point') };
        const range = { qmin: c.params.qmin as number, qmax: c.params.qmax as number };
        const y = fakeQuantize(x, qp, layoutOf(x.shape, { kind: 'per-channel', axis }), range, CONVENTIONS.torch);
        expectBits(c.name, y.f32, f32(c, 'y'), x.f32);
      });
    }
  });

  describe('QuantWM min-max symmetric weights: s = max(absmax / ((qmax - qmin)/2), eps), round(w/s + 0)', () => {
    for (const c of byKind('quantwm_minmax_weight')) {
      it(`${c.name} (${c.ties} ties)`, () => {
        const w = asTensor(c, 'w');
        const bits = c.params.bits as number;
        const G = c.params.group_size as number;
        const gran = G > 0 ? flatGroups(G) : PER_CHANNEL;
        const obs = new MinMaxObserver(gran);
        obs.observe(w);
        const bt = bitType(bits, true);
        const qp = obs.qparams(bt, 'minmax-sym');
        expectBits(`${c.name} scale`, qp.scale, f32(c, 'scale'));
        const layout = layoutOf(w.shape, gran);
        if (c.tensors.q) codesMatch(c.name, quantize(w, qp, layout, bt, CONVENTIONS['quantwm-uniform']), c.tensors.q.data);
        else expectBits(c.name, fakeQuantize(w, qp, layout, bt, CONVENTIONS['quantwm-uniform']).f32, f32(c, 'y'), w.f32);
      });
    }
  });

  describe('QuantWM min-max asymmetric per-tensor activations (running over 2 calls)', () => {
    for (const c of byKind('quantwm_minmax_act')) {
      it(`${c.name} (${c.ties} ties)`, () => {
        const bt = bitType(c.params.bits as number, false);
        const obs = new MinMaxObserver(PER_TENSOR);
        obs.observe(asTensor(c, 'x1'));
        obs.observe(asTensor(c, 'x2'));
        const qp = obs.qparams(bt, 'minmax-asym');
        expectBits(`${c.name} scale`, qp.scale, f32(c, 'scale'));
        expectBits(`${c.name} zero point`, qp.zeroPoint, f32(c, 'zero_point'));
        for (const k of ['1', '2']) {
          const x = asTensor(c, 'x' + k);
          const y = fakeQuantize(x, qp, layoutOf(x.shape, PER_TENSOR), bt, CONVENTIONS['quantwm-uniform']);
          expectBits(`${c.name} y${k}`, y.f32, f32(c, 'y' + k), x.f32);
        }
      });
    }
  });

  describe('QuantWM OMSE weights: 101 ratios in [0.35, 1], s = absmax / qmax, strict < on the row error', () => {
    for (const c of byKind('quantwm_omse_weight')) {
      it(c.name, () => {
        const w = asTensor(c, 'w');
        const G = c.params.group_size as number;
        const gran = G > 0 ? flatGroups(G) : PER_CHANNEL;
        const layout = layoutOf(w.shape, gran);
        const bt = bitType(c.params.bits as number, true);
        const res = omseWeightSearch(w, layout, bt);
        expectBits(`${c.name} ratio`, res.ratio, f32(c, 'ratio'));
        expectBits(`${c.name} scale`, res.qparams.scale, f32(c, 'scale'));
        const best = f32(c, 'best_score');
        for (let g = 0; g < best.length; g++) {
          expect(Math.abs(res.error[g] - best[g]), `group ${g} error`).toBeLessThanOrEqual(1e-5 * best[g]);
        }
        if (c.tensors.q) codesMatch(c.name, quantize(w, res.qparams, layout, bt, CONVENTIONS['quantwm-uniform']), c.tensors.q.data);
        else expectBits(c.name, fakeQuantize(w, res.qparams, layout, bt, CONVENTIONS['quantwm-uniform']).f32, f32(c, 'y'), w.f32);
      });
    }
  });

  describe('QuantWM OMSE activations: 90 shrink factors, mean squared error on the last batch', () => {
    for (const c of byKind('quantwm_omse_act')) {
      it(c.name, () => {
        const bt = bitType(c.params.bits as number, false);
        const obs = new MinMaxObserver(PER_TENSOR);
        obs.observe(asTensor(c, 'x1'));
        const x2 = asTensor(c, 'x2');
        obs.observe(x2);
        const res = omseActivationSearch(x2, obs.min[0], obs.max[0], bt);
        expect(res.index).toBe(c.params.best_i);
        expectBits(`${c.name} scale`, res.qparams.scale, f32(c, 'scale'));
        expectBits(`${c.name} zero point`, res.qparams.zeroPoint, f32(c, 'zero_point'));
        const y = fakeQuantize(x2, res.qparams, layoutOf(x2.shape, PER_TENSOR), bt, CONVENTIONS['quantwm-uniform']);
        expectBits(c.name, y.f32, f32(c, 'y'), x2.f32);
      });
    }
  });

  describe('QuantWM dynamic per-token activations: rule "range-clamp", round(x/s) + z', () => {
    for (const c of byKind('quantwm_per_token')) {
      it(`${c.name} (${c.ties} ties)`, () => {
        const x = asTensor(c, 'x');
        const bt = bitType(c.params.bits as number, false);
        const layout = layoutOf(x.shape, PER_TOKEN);
        const { min, max } = groupMinMax(x, layout);
        const qp = chooseQParams(min, max, bt, 'range-clamp');
        expectBits(`${c.name} scale`, qp.scale, f32(c, 'scale'));
        expectBits(`${c.name} zero point`, qp.zeroPoint, f32(c, 'zero_point'));
        expectBits(c.name, fakeQuantize(x, qp, layout, bt, CONVENTIONS.onnx).f32, f32(c, 'y'), x.f32);
      });
    }
  });

  describe('AWQ pseudo_quantize_tensor: rule "awq-asym" (or "absmax-floor" without zero point)', () => {
    for (const c of byKind('awq_pseudo_quantize')) {
      it(c.name, () => {
        const w = asTensor(c, 'w');
        const G = c.params.group_size as number;
        const zp = c.params.zero_point as boolean;
        const gran = G > 0 ? flatGroups(G) : PER_CHANNEL;
        const layout = layoutOf(w.shape, gran);
        const bt = bitType(c.params.bits as number, !zp);
        const { min, max } = groupMinMax(w, layout);
        const qp = chooseQParams(min, max, bt, zp ? 'awq-asym' : 'absmax-floor');
        expectBits(`${c.name} scale`, qp.scale, f32(c, 'scale'));
        expectBits(`${c.name} zero point`, qp.zeroPoint, f32(c, 'zero_point'));
        const conv: Convention = CONVENTIONS.onnx;
        if (c.tensors.q) codesMatch(c.name, quantize(w, qp, layout, bt, conv), c.tensors.q.data);
        else expectBits(c.name, fakeQuantize(w, qp, layout, bt, conv).f32, f32(c, 'y'), w.f32);
      });
    }
  });

  describe('QuantWM percentile observer: torch.quantile(0.99999) with EMA 0.01', () => {
    for (const c of byKind('quantwm_percentile')) {
      it(c.name, () => {
        const obs = new PercentileObserver();
        obs.observe(asTensor(c, 'x1'));
        obs.observe(asTensor(c, 'x2'));
        expectBits(`${c.name} min`, Float32Array.of(obs.min), f32(c, 'min'));
        expectBits(`${c.name} max`, Float32Array.of(obs.max), f32(c, 'max'));
        const qp = obs.qparams(bitType(c.params.bits as number, false), 'minmax-asym');
        expectBits(`${c.name} scale`, qp.scale, f32(c, 'scale'));
        expectBits(`${c.name} zero point`, qp.zeroPoint, f32(c, 'zero_point'));
      });
    }
  });
});
