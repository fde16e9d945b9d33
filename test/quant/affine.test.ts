import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONVENTIONS,
  EPS32,
  chooseQParam,
  chooseQParams,
  convention,
  dequantize,
  fakeQuantize,
  fakeQuantizeMinMax,
  groupMinMax,
  quantize,
  quantizeValue,
  type Convention,
  type QParams,
  type ScaleRule,
} from '../../src/quant/affine.js';
import { bitType } from '../../src/quant/bittype.js';
import { PER_CHANNEL, PER_TENSOR, flatGroups, groupLayout, rowGroups } from '../../src/quant/granularity.js';
import { DTypeError, ShapeError, ValueError } from '../../src/tensor/errors.js';
import { Rng } from '../../src/tensor/rng.js';
import { tensor } from '../../src/tensor/tensor.js';
import { rtnRoundtripBudget } from './budgets.js';

const fr = Math.fround;
const CONVS: Convention[] = [CONVENTIONS['quantwm-uniform'], CONVENTIONS.onnx, CONVENTIONS.torch];

/** A quantizer setting: bits, signedness, float32 scale, zero point inside the range, convention. */
const settingArb = fc
  .record({
    bits: fc.integer({ min: 2, max: 8 }),
    signed: fc.boolean(),
    scale: fc.float({ min: fr(1e-6), max: fr(1e3), noNaN: true, noDefaultInfinity: true }),
    zFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    conv: fc.constantFrom(...CONVS),
  })
  .map(({ bits, signed, scale, zFrac, conv }) => {
    const bt = bitType(bits, signed);
    const z = signed ? 0 : Math.round(bt.qmin + zFrac * (bt.qmax - bt.qmin));
    return { bt, s: scale, z, conv };
  });

/** x in the clipping range [(qmin - z) s, (qmax - z) s], or an exact tie fr((k + 0.5) s). */
function xArb(s: number, z: number, qmin: number, qmax: number) {
  const lo = (qmin - z) * s;
  const hi = (qmax - z) * s;
  return fc.oneof(
    fc.double({ min: 0, max: 1, noNaN: true }).map((u) => fr(lo + u * (hi - lo))),
    fc.integer({ min: qmin - z, max: qmax - z - 1 }).map((k) => fr((k + 0.5) * s)),
  );
}

function qp1(s: number, z: number): QParams {
  return { scale: Float32Array.of(s), zeroPoint: Float32Array.of(z) };
}

describe('affine quantization primitives', () => {
  it('worked numbers of the TSDoc: int8 minmax-sym absmax 2.55 -> s = fr(0.02), x = 2.55 clips to 127', () => {
    const [s, z] = chooseQParam(fr(-1), fr(2.55), bitType(8, true), 'minmax-sym');
    expect(s).toBe(fr(0.02));
    expect(z).toBe(0);
    expect(fr(fr(2.55) / s)).toBe(127.5);
    expect(quantizeValue(fr(2.55), s, fr(1 / s), 0, -128, 127, CONVENTIONS['quantwm-uniform'])).toBe(127);
    const [s2, z2] = chooseQParam(-1, fr(1.55), bitType(8, false), 'minmax-asym');
    expect([s2, z2]).toEqual([fr(0.01), 100]);
  });

  it('zero point before vs after rounding differ: fr(t + z) can create a tie t was not on', () => {
    // t = x / s = 0.50000006 (just above a tie); + 100 rounds to 100.5 in float32 -> even 100.
    const s = 1;
    const x = fr(0.50000006);
    expect(x).toBeGreaterThan(0.5);
    const pre = quantizeValue(x, s, 1, 100, 0, 255, CONVENTIONS['quantwm-uniform']);
    const post = quantizeValue(x, s, 1, 100, 0, 255, CONVENTIONS.onnx);
    expect([pre, post]).toEqual([100, 101]);
  });

  it('scale floors: EPS32 for min-max rules, 1e-5 for the clamp rules; an all-zero group is valid', () => {
    expect(chooseQParam(0, 0, bitType(8, true), 'minmax-sym')).toEqual([EPS32, 0]);
    expect(chooseQParam(0, 0, bitType(8, false), 'minmax-asym')).toEqual([EPS32, 0]);
    expect(chooseQParam(0, 0, bitType(4, true), 'absmax-clamp')).toEqual([fr(1e-5), 0]);
    expect(chooseQParam(0, 0, bitType(4, false), 'awq-asym')[0]).toBe(fr(fr(1e-5) / 15));
    // [-1, 1] fallback: z = round(fr(1 / fr(2/15))) = round(7.4999995) = 7 (torch computes the same float32 quotient)
    expect(chooseQParam(0, 0, bitType(4, false), 'gptq-asym')).toEqual([fr(2 / 15), 7]);
    expect(chooseQParam(0, 0, bitType(8, false), 'onnx-dynamic')).toEqual([1, 0]);
    expect(chooseQParam(fr(1.5), fr(2.5), bitType(4, false), 'gptq-sym')).toEqual([fr(2.5 / 15), 8]);
  });

  it('rule/range mismatch, NaN, min > max, off bit types are ValueErrors', () => {
    expect(() => chooseQParams(Float32Array.of(0), Float32Array.of(1), bitType(8, false), 'minmax-sym')).toThrow(ValueError);
    expect(() => chooseQParams(Float32Array.of(NaN), Float32Array.of(1), bitType(8, true), 'minmax-sym')).toThrow(/finite/);
    expect(() => chooseQParams(Float32Array.of(2), Float32Array.of(1), bitType(8, true), 'minmax-sym')).toThrow(ValueError);
    expect(() => chooseQParams(Float32Array.of(0), Float32Array.of(1), bitType(16, true), 'minmax-sym')).toThrow(/off/);
    expect(() => chooseQParams(Float32Array.of(0, 1), Float32Array.of(1), bitType(8, true), 'minmax-sym')).toThrow(ShapeError);
    expect(() => convention('ggml')).toThrow(/quantwm-uniform, onnx, torch/);
  });

  it('quantize/fakeQuantize check dtype, shape, parameters and NaN', () => {
    const x = tensor([1, 2, 3, 4], [2, 2]);
    const lay = groupLayout([2, 2], PER_CHANNEL);
    const bt = bitType(8, true);
    expect(() => fakeQuantize(x, qp1(1, 0), lay, bt, CONVENTIONS.onnx)).toThrow(/2 groups/);
    expect(() => fakeQuantize(tensor([1, 2, 3]), qp1(1, 0), groupLayout([3], PER_TENSOR), bt, CONVENTIONS.onnx)).not.toThrow();
    expect(() => fakeQuantize(tensor([1, NaN]), qp1(1, 0), groupLayout([2], PER_TENSOR), bt, CONVENTIONS.onnx)).toThrow(/NaN/);
    expect(() => fakeQuantize(x, qp1(0, 0), groupLayout([2, 2], PER_TENSOR), bt, CONVENTIONS.onnx)).toThrow(/positive/);
    expect(() => fakeQuantize(x, qp1(1, 0.5), groupLayout([2, 2], PER_TENSOR), bt, CONVENTIONS.onnx)).toThrow(/integer/);
    expect(() => fakeQuantize(x, qp1(1, 0), groupLayout([4, 1], PER_TENSOR), bt, CONVENTIONS.onnx)).toThrow(ShapeError);
    expect(() => dequantize(x, qp1(1, 0), groupLayout([2, 2], PER_TENSOR))).toThrow(DTypeError);
  });

  it('values beyond the range saturate at qmin / qmax, infinities included', () => {
    const x = tensor([-1e30, -Infinity, 1e30, Infinity, 1000, -1000]);
    const lay = groupLayout([6], PER_TENSOR);
    for (const conv of CONVS) {
      const q = quantize(x, qp1(0.5, 3), lay, bitType(4, false), conv);
      expect(Array.from(q.data)).toEqual([0, 0, 15, 15, 15, 0]);
    }
  });

  it(`property: |x - dequantize(quantize(x))| <= s/2 (+ float32 rounding, RTN_ROUNDTRIP) inside the range, every convention`, () => {
    let runs = 0;
    fc.assert(
      fc.property(
        settingArb.chain((st) => fc.tuple(fc.constant(st), fc.array(xArb(st.s, st.z, st.bt.qmin, st.bt.qmax), { minLength: 1, maxLength: 40 }))),
        ([{ bt, s, z, conv }, xs]) => {
          runs++;
          const x = tensor(xs);
          const lay = groupLayout(x.shape, PER_TENSOR);
          const q = quantize(x, qp1(s, z), lay, bt, conv);
          const xq = dequantize(q, qp1(s, z), lay).f32;
          const qabs = Math.max(-bt.qmin, bt.qmax);
          for (let i = 0; i < xs.length; i++) {
            expect(Math.abs(x.f32[i] - xq[i]), `x=${x.f32[i]} s=${s} z=${z} ${conv.name}`).toBeLessThanOrEqual(
              rtnRoundtripBudget(s, x.f32[i], xq[i], qabs),
            );
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('property: quantize is idempotent on its own grid, and fakeQuantize = dequantize o quantize (bit for bit up to the sign of zero)', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        settingArb,
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 40 }),
        ({ bt, s, z, conv }, us) => {
          runs++;
          // values on both sides of the range: u scales the full q-span
          const x = tensor(us.map((u) => fr(u * s * (bt.qmax - bt.qmin))));
          const lay = groupLayout(x.shape, PER_TENSOR);
          const p = qp1(s, z);
          const once = fakeQuantize(x, p, lay, bt, conv);
          const twice = fakeQuantize(once, p, lay, bt, conv);
          // equal as numbers: -0 may come back as +0 (fr(-0 + z) = +0 for 'pre-round', as in torch)
          for (let i = 0; i < us.length; i++) expect(twice.f32[i] === once.f32[i], `x̂=${once.f32[i]}`).toBe(true);
          // Through integer codes a -0 code (pre-round convention on x in (-s/2, 0)) comes back as
          // +0, as it does through torch's integer tensors; every other bit pattern is equal.
          const viaCodes = dequantize(quantize(x, p, lay, bt, conv), p, lay);
          for (let i = 0; i < us.length; i++) {
            const a = viaCodes.f32[i];
            const b = once.f32[i];
            expect(Object.is(a, b) || (a === 0 && b === 0), `codes path ${a} vs fake-quant ${b}`).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('property: per-group with group = in_features equals per-channel (flat and row-aligned layouts)', () => {
    let runs = 0;
    const rules: ScaleRule[] = ['minmax-sym', 'absmax-clamp', 'absmax-floor'];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 2, max: 8 }),
        fc.constantFrom(...rules),
        fc.integer(),
        (rows, cols, bits, rule, seed) => {
          runs++;
          const w = new Rng(seed).normalTensor([rows, cols]);
          const bt = bitType(bits, true);
          const spec = { range: bt, rule, convention: CONVENTIONS['quantwm-uniform'] };
          const ref = fakeQuantizeMinMax(w, PER_CHANNEL, spec).xq.f32;
          for (const g of [flatGroups(cols), rowGroups(cols)]) {
            const got = fakeQuantizeMinMax(w, g, spec).xq.f32;
            expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(ref.buffer));
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('groupMinMax per group, strided per-column groups included', () => {
    const x = tensor([1, -2, 3, 4, 5, -6], [2, 3]);
    const byCol = groupMinMax(x, groupLayout(x.shape, { kind: 'per-channel', axis: 1 }));
    expect(Array.from(byCol.min)).toEqual([1, -2, -6]);
    expect(Array.from(byCol.max)).toEqual([4, 5, 3]);
  });
});
