/**
 * RTN, OMSE, plan/calibration/fake-quant execution. Budgets: plan parameters and fake-quant
 * outputs are compared bit for bit against the primitives they are defined by (budget 0).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONVENTIONS, fakeQuantize, fakeQuantizeMinMax } from '../../src/quant/affine.js';
import { bitType } from '../../src/quant/bittype.js';
import { ActivationCalibrator, calibrateActivations } from '../../src/quant/calibration.js';
import { FakeQuantLinear, fakeQuantActivation, fakeQuantLinear, fakeQuantWeight, installFakeQuant, linearF32 } from '../../src/quant/execute.js';
import { PER_CHANNEL, PER_TENSOR, PER_TOKEN, flatGroups, groupLayout, rowGroups } from '../../src/quant/granularity.js';
import { omse } from '../../src/quant/methods/omse.js';
import { rtn } from '../../src/quant/methods/rtn.js';
import { MinMaxObserver } from '../../src/quant/observers/minmax.js';
import { omseWeightSearch } from '../../src/quant/observers/omse.js';
import { describeWeightQuant, resolveConfig } from '../../src/quant/plan.js';
import { ShapeError, ValueError } from '../../src/tensor/errors.js';
import { Rng } from '../../src/tensor/rng.js';
import { tensor } from '../../src/tensor/tensor.js';
import { outlierInputs, toyBlock } from './toy.js';

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe('RTN (QuantWM minmax/minmax)', () => {
  const rng = new Rng(1);
  const { targets } = toyBlock(rng, 16, 40);
  const calib = new Map(targets.map((t) => [t.name, outlierInputs(rng, 30, t.weight.shape[1])]));

  it('plan: int-b minmax-sym weights per channel, uint-b per-tensor acts calibrated from the inputs (bit for bit vs MinMaxObserver)', () => {
    const res = rtn(targets, { calib, config: { encoder: { wbits: 4, abits: 8 } } });
    expect(res.plan.layers.map((l) => l.name)).toEqual(targets.map((t) => t.name));
    for (const [i, l] of res.plan.layers.entries()) {
      const t = targets[i];
      expect(describeWeightQuant(l.weight)).toBe('int4 minmax-sym per-channel(axis 0) quantwm-uniform');
      const ref = fakeQuantizeMinMax(t.weight, PER_CHANNEL, { range: bitType(4, true), rule: 'minmax-sym', convention: CONVENTIONS['quantwm-uniform'] });
      expect(bits(l.weight!.qparams.scale)).toEqual(bits(ref.qparams.scale));
      const obs = new MinMaxObserver(PER_TENSOR);
      obs.observe(calib.get(t.name)!);
      const qp = obs.qparams(bitType(8, false), 'minmax-asym');
      expect(l.act!.qparams!.scale[0]).toBe(qp.scale[0]);
      expect(l.act!.qparams!.zeroPoint[0]).toBe(qp.zeroPoint[0]);
      expect(res.weights.get(t.name)!.weight).toBe(t.weight);
    }
  });

  it('16 bits = off (W4A16 is weight-only), any subset of layers, separate encoder/predictor bits', () => {
    const pred = toyBlock(new Rng(2), 16, 40, 'predictor', 0).targets;
    const res = rtn([...targets, ...pred], { config: { encoder: { wbits: 16, abits: 16 }, predictor: { wbits: 3, abits: 16 }, layers: [targets[0].name, pred[2].name] } });
    expect(res.plan.layers.map((l) => [l.name, l.weight?.bits ?? 16, l.act?.bits ?? 16])).toEqual([
      [targets[0].name, 16, 16],
      [pred[2].name, 3, 16],
    ]);
    expect(() => rtn(targets, { config: { layers: ['nope'] } })).toThrow(/nope/);
    expect(() => resolveConfig({ groupSize: 1 })).toThrow(ValueError);
    expect(() => resolveConfig({ encoder: { wbits: 9, abits: 8 } })).toThrow(ValueError);
  });

  it('fake-quant Linear = linearF32(fakeQuant(x), fakeQuant(W)) + b, bit for bit; per-token acts are dynamic', () => {
    for (const act of ['per-tensor', 'per-token'] as const) {
      const res = rtn(targets, { calib, config: { encoder: { wbits: 4, abits: 6 }, act, groupSize: 8 } });
      const impls = installFakeQuant(res);
      for (const t of targets) {
        const l = impls.get(t.name)!;
        const x = calib.get(t.name)!;
        const y = fakeQuantLinear(x, l);
        const layer = res.plan.layers.find((p) => p.name === t.name)!;
        const xq =
          act === 'per-tensor'
            ? fakeQuantize(x, layer.act!.qparams!, groupLayout(x.shape, PER_TENSOR), bitType(6, false), CONVENTIONS['quantwm-uniform'])
            : fakeQuantizeMinMax(x, PER_TOKEN, { range: bitType(6, false), rule: 'range-clamp', convention: CONVENTIONS.onnx }).xq;
        const wq = fakeQuantize(t.weight, layer.weight!.qparams, groupLayout(t.weight.shape, flatGroups(8)), bitType(4, true), CONVENTIONS['quantwm-uniform']);
        expect(bits(y.f32)).toEqual(bits(linearF32(xq, wq, t.bias).f32));
        expect(l.kind).toBe('fake-quant');
      }
    }
  });

  it('an uncalibrated static activation quantizer is an error; shapes are checked', () => {
    const res = rtn(targets, {});
    expect(() => installFakeQuant(res)).toThrow(/not calibrated/);
    const ok = rtn(targets, { calib });
    const impl = installFakeQuant(ok).get(targets[0].name)!;
    expect(() => impl.forward(tensor([1, 2, 3], [1, 3]))).toThrow(ShapeError);
    expect(() => new FakeQuantLinear(ok.plan.layers[0], { weight: targets[1].weight, bias: null })).toThrow(ShapeError);
    expect(() => fakeQuantActivation(tensor([1, 2]).reshape([1, 2]), { ...ok.plan.layers[0].act!, qparams: null })).toThrow(/not calibrated/);
  });

  it('online calibration (observer per call, running min/max) = offline calibration on the concatenated inputs', () => {
    const res = rtn(targets, {});
    const cal = new ActivationCalibrator(res.plan);
    const parts: [string, Float32Array[]][] = targets.map((t) => [t.name, []]);
    for (let call = 0; call < 3; call++) {
      for (const [name, store] of parts) {
        const x = outlierInputs(new Rng(100 + call), 7, targets.find((t) => t.name === name)!.weight.shape[1]);
        cal.observer(name)(x);
        store.push(x.f32);
      }
    }
    const online = cal.finalize();
    const offline = calibrateActivations(
      res.plan,
      new Map(parts.map(([name, xs]) => {
        const w = targets.find((t) => t.name === name)!.weight.shape[1];
        const all = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
        let o = 0;
        for (const x of xs) { all.set(x, o); o += x.length; }
        return [name, tensor(all, [all.length / w, w])];
      })),
    );
    for (let i = 0; i < online.layers.length; i++) {
      expect(online.layers[i].act!.qparams).toEqual(offline.layers[i].act!.qparams);
    }
    expect(() => new ActivationCalibrator(res.plan).finalize()).toThrow(/never observed/);
    expect(() => cal.observe('nope', tensor([1]))).toThrow(ValueError);
  });

  it('fakeQuantWeight uses the plan granularity (row-aligned groups)', () => {
    const res = rtn(targets, { config: { groupSize: 6, groupLayout: 'row-aligned', encoder: { wbits: 5, abits: 16 } } });
    const l = res.plan.layers[2];
    const ref = fakeQuantizeMinMax(targets[2].weight, rowGroups(6), { range: bitType(5, true), rule: 'minmax-sym', convention: CONVENTIONS['quantwm-uniform'] }).xq;
    expect(bits(fakeQuantWeight(targets[2].weight, l.weight!).f32)).toEqual(bits(ref.f32));
  });
});

describe('OMSE (QuantWM w_quant_method = omse)', () => {
  it("property: the chosen clip ratio is never worse in OMSE's own error measure than r = 1", () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 48 }),
        fc.integer({ min: 2, max: 8 }),
        fc.constantFrom('channel', 'group'),
        fc.integer(),
        (rows, cols, b, g, seed) => {
          runs++;
          const w = outlierInputs(new Rng(seed), rows, cols, 1, 8);
          const gran = g === 'channel' || (rows * cols) % 4 !== 0 ? PER_CHANNEL : flatGroups(4);
          const res = omseWeightSearch(w, groupLayout(w.shape, gran), bitType(b, true));
          for (let k = 0; k < res.ratio.length; k++) {
            expect(res.error[k]).toBeLessThanOrEqual(res.errorAtOne[k]);
            expect(res.ratio[k]).toBeGreaterThanOrEqual(Math.fround(0.35));
            expect(res.ratio[k]).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('method plan: absmax-clamp weights with the search audit, per-tensor OMSE activation observer on request', () => {
    const rng = new Rng(3);
    const { targets } = toyBlock(rng, 12, 24);
    const calib = new Map(targets.map((t) => [t.name, outlierInputs(rng, 20, t.weight.shape[1])]));
    const res = omse(targets, { calib, actObserver: 'omse', config: { encoder: { wbits: 3, abits: 4 } } });
    for (const l of res.plan.layers) {
      expect(l.weight!.rule).toBe('absmax-clamp');
      expect(l.search!.kind).toBe('omse');
      expect(l.act!.observer).toBe('omse');
      expect(l.act!.qparams).not.toBeNull();
    }
    // outliers make OMSE clip at 3 bits: some ratio < 1
    expect(res.plan.layers.some((l) => l.search!.ratio.some((r) => r < 1))).toBe(true);
  });
});

describe('typed errors at the method boundaries', () => {
  it('shape, value and missing-input errors name the op and the shapes', async () => {
    const { smoothScales } = await import('../../src/quant/methods/smoothquant.js');
    const { awqScales, awqSearchClip } = await import('../../src/quant/methods/awq.js');
    const { gptq, gptqHessian, layerOutputError } = await import('../../src/quant/methods/gptq.js');
    const { checkTarget } = await import('../../src/quant/seam.js');
    const rng = new Rng(40);
    const { targets } = toyBlock(rng, 8, 12);
    expect(() => smoothScales(new Float32Array(3), new Float32Array(4), 0.5)).toThrow(ShapeError);
    expect(() => smoothScales(Float32Array.of(NaN), Float32Array.of(1), 0.5)).toThrow(ValueError);
    expect(() => awqScales(new Float32Array(0), 0.5)).toThrow(ValueError);
    expect(() => awqSearchClip(rng.normalTensor([2, 4]), rng.normalTensor([3, 5]), -1, (w) => w)).toThrow(/does not take inputs/);
    expect(() => gptqHessian(tensor([1, 2, 3]))).toThrow(ShapeError);
    expect(() => layerOutputError(rng.normalTensor([3, 4]), rng.normalTensor([2, 5]), rng.normalTensor([2, 5]))).toThrow(ShapeError);
    expect(() => gptq(targets, { calib: new Map() })).toThrow(/no calibration input/);
    expect(() => gptq(targets, { calib: new Map([[targets[0].name, rng.normalTensor([5, 3])]]) , config: { layers: [targets[0].name] } })).toThrow(/calibration input must be f32 \(N, 8\)/);
    expect(() => checkTarget('t', { ...targets[0], bias: rng.normalTensor([5]) })).toThrow(/bias/);
    expect(() => checkTarget('t', { ...targets[0], prevNorm: { ...targets[0].prevNorm!, weight: rng.normalTensor([7]) } })).toThrow(/in_features/);
  });
});
