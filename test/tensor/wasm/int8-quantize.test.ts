/**
 * quant_rows_f32_i8__kc16__simd128 replicates src/quant/affine.ts and nothing else:
 *  - quantizeRowsI8 == quantizeValue (the one formula it copies) for the onnx, torch and
 *    quantwm-uniform conventions, bit for bit, on exact ties x = fr((k + 0.5)·s), ±0, ±Infinity,
 *    huge values, signed/unsigned and narrow code ranges, per-row and per-tensor parameters;
 *  - the dynamic per-token pipeline rowMinMax -> chooseQParams -> quantizeRowsI8 gives the
 *    codes of quantize(x, chooseQParams(groupMinMax(x))) (min/max may differ only in the sign
 *    of a zero, which never changes a code).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../../src/tensor/rng.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { ValueError } from '../../../src/tensor/errors.js';
import { quantizeRowsI8, rowMinMax, type CodeFormula, type DynamicQuant, type StaticQuant } from '../../../src/tensor/wasm/int8/quantize.js';
import { quantizeRowsRef, roundEvenRef } from '../../../src/tensor/wasm/int8/quantize-ref.js';
import { roundHalfEven } from '../../../src/quant/round.js';
import { gemmI8, gemmI8Dynamic, gemmI8Static, packI8 } from '../../../src/tensor/wasm/int8/gemm.js';
import { gemmW4A8, gemmW4A8Dynamic, gemmW4A8Static, packI4 } from '../../../src/tensor/wasm/int4/gemm.js';
import { genInt4Weights, genInt8Weights, expectBitExact } from './int-gen.js';
import { CONVENTIONS, chooseQParams, groupMinMax, quantize, quantizeValue, type ConventionName } from '../../../src/quant/affine.js';
import { bitType } from '../../../src/quant/bittype.js';
import { PER_TENSOR, PER_TOKEN, groupLayout } from '../../../src/quant/granularity.js';

const fr = Math.fround;

/** Row values: ties on the row's own grid, ±0, ±Infinity, huge and ordinary values. */
function rowValues(rng: Rng, K: number, s: number, z: number): Float32Array {
  const x = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    const u = rng.int(10);
    if (u < 4) x[k] = fr((rng.int(300) - 150 - z + 0.5) * s);
    else if (u === 4) x[k] = rng.int(2) ? 0 : -0;
    else if (u === 5) x[k] = rng.int(2) ? Infinity : -Infinity;
    else if (u === 6) x[k] = fr((rng.uniform() * 2 - 1) * 1e30);
    else x[k] = fr(rng.normal() * 100 * s);
  }
  return x;
}

describe('quantizeRowsI8 (kernel) == quantizeRowsRef (twin) == quantizeValue of src/quant/affine.ts (bit-exact codes)', () => {
  it('conventions × code ranges × per-row/per-tensor, K around the 16-value step, exact ties', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.record({
          conv: fc.constantFrom<ConventionName>('onnx', 'torch', 'quantwm-uniform'),
          range: fc.constantFrom<[number, number]>([-128, 127], [-8, 7], [0, 255], [0, 15]),
          M: fc.constantFrom(1, 3, 5),
          K: fc.constantFrom(1, 15, 16, 17, 33, 64),
          perRow: fc.boolean(),
          seed: fc.nat(),
        }),
        ({ conv, range, M, K, perRow, seed }) => {
          runs++;
          const rng = new Rng(seed);
          const [qmin, qmax] = range;
          const n = perRow ? M : 1;
          const scale = new Float32Array(n).map(() => fr(2 ** (-10 + 12 * rng.uniform())));
          const zero = new Float32Array(n).map(() => qmin + rng.int(qmax - qmin + 1));
          const x = new Float32Array(M * K);
          for (let m = 0; m < M; m++) x.set(rowValues(rng, K, scale[perRow ? m : 0], zero[perRow ? m : 0]), m * K);
          const c = CONVENTIONS[conv];
          const formula: CodeFormula = { scaleOp: c.scaleOp, zeroPoint: c.zeroPoint, qmin, qmax };
          const got = qmin < 0 ? new Int8Array(M * K) : new Uint8Array(M * K);
          quantizeRowsI8(x, M, K, scale, zero, formula, got);
          const twin = qmin < 0 ? new Int8Array(M * K) : new Uint8Array(M * K);
          quantizeRowsRef(x, M, K, scale, zero, formula, twin);
          for (let i = 0; i < M * K; i++) {
            const g = perRow ? Math.floor(i / K) : 0;
            const want = quantizeValue(x[i], scale[g], fr(1 / scale[g]), zero[g], qmin, qmax, c);
            if (got[i] !== want || twin[i] !== want) {
              throw new Error(`${conv} [${qmin},${qmax}] x[${i}] = ${x[i]} s = ${scale[g]} z = ${zero[g]}: kernel ${got[i]} twin ${twin[i]} quantizeValue ${want}`);
            }
          }
        },
      ),
      { numRuns: 150, seed: 0x51 },
    );
    expect(runs).toBe(150);
  });

  it('NaN input -> ValueError naming the index; bad parameters -> ValueError', () => {
    const x = new Float32Array(40).fill(1);
    x[37] = NaN;
    const f: CodeFormula = { scaleOp: 'div', zeroPoint: 'post-round', qmin: -128, qmax: 127 };
    expect(() => quantizeRowsI8(x, 2, 20, Float32Array.of(0.1), Float32Array.of(0), f, new Int8Array(40))).toThrow(/x\[37\] \(row 1\) is NaN/);
    x[37] = 1;
    expect(() => quantizeRowsI8(x, 2, 20, Float32Array.of(0), Float32Array.of(0), f, new Int8Array(40))).toThrow(ValueError);
    expect(() => quantizeRowsI8(x, 2, 20, Float32Array.of(1), Float32Array.of(0.5), f, new Int8Array(40))).toThrow(/zero\[0\] = 0.5/);
    expect(() => quantizeRowsI8(x, 2, 20, Float32Array.of(1), Float32Array.of(0), { ...f, qmin: 0, qmax: 255 }, new Int8Array(40))).toThrow(/does not fit int8/);
  });
});

describe('dynamic per-token pipeline == quantize(x, chooseQParams(groupMinMax(x)))', () => {
  it('rules range-clamp (uint8) and minmax-sym (int8), rows with ±0 mixes and ties', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.constantFrom(1, 4, 7), fc.constantFrom(1, 17, 148, 384), fc.boolean(), fc.nat(), (M, K, signed, seed) => {
        runs++;
        const rng = new Rng(seed);
        const x = new Float32Array(M * K);
        for (let m = 0; m < M; m++) {
          const row = rowValues(rng, K, 0.01, 0).map((v) => (Number.isFinite(v) && Math.abs(v) < 1e6 ? v : 0));
          if (rng.int(3) === 0) row.fill(rng.int(2) ? 0 : -0, 0, Math.ceil(K / 2));
          x.set(row, m * K);
        }
        const bt = bitType(8, signed);
        const rule = signed ? 'minmax-sym' : 'range-clamp';
        const conv = CONVENTIONS.onnx;
        const t = new Tensor('f32', [M, K], x);
        const layout = groupLayout([M, K], PER_TOKEN);
        const theirs = groupMinMax(t, layout);
        const ours = rowMinMax(x, M, K);
        for (let m = 0; m < M; m++) {
          expect(ours.min[m] === theirs.min[m] && ours.max[m] === theirs.max[m]).toBe(true);
        }
        const qp = chooseQParams(theirs.min, theirs.max, bt, rule);
        const want = quantize(t, qp, layout, bt, conv).data;
        const qp2 = chooseQParams(ours.min, ours.max, bt, rule);
        const got = signed ? new Int8Array(M * K) : new Uint8Array(M * K);
        quantizeRowsI8(x, M, K, qp2.scale, qp2.zeroPoint, { scaleOp: 'div', zeroPoint: 'post-round', qmin: bt.qmin, qmax: bt.qmax }, got);
        expect(Array.from(got)).toEqual(Array.from(want));
      }),
      { numRuns: 40, seed: 0x52 },
    );
    expect(runs).toBe(40);
  });
});

describe('gemmI8Dynamic / gemmW4A8Dynamic == quantize (src/quant) then gemmI8 / gemmW4A8 (bit-exact)', () => {
  it('per-token int8 (minmax-sym) and per-tensor uint8 (onnx-dynamic), conventions onnx and torch', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(1, 5, 17),
        fc.constantFrom(7, 9),
        fc.constantFrom(3, 33, 148),
        fc.constantFrom<'per-token' | 'per-tensor'>('per-token', 'per-tensor'),
        fc.constantFrom<ConventionName>('onnx', 'torch'),
        fc.nat(),
        (M, N, K, gran, conv, seed) => {
          runs++;
          const rng = new Rng(seed);
          const x = new Float32Array(M * K).map(() => fr(rng.normal() * 3));
          const unsigned = gran === 'per-tensor';
          const bt = bitType(8, !unsigned);
          const rule = unsigned ? 'onnx-dynamic' : 'minmax-sym';
          const c = CONVENTIONS[conv];
          const dyn: DynamicQuant = {
            unsigned,
            formula: { scaleOp: c.scaleOp, zeroPoint: c.zeroPoint, qmin: bt.qmin, qmax: bt.qmax },
            choose: (mn, mx) => {
              const lo = unsigned ? Float32Array.of(mn.reduce((p, v) => Math.min(p, v))) : mn;
              const hi = unsigned ? Float32Array.of(mx.reduce((p, v) => Math.max(p, v))) : mx;
              const qp = chooseQParams(lo, hi, bt, rule);
              return { scale: qp.scale, zero: qp.zeroPoint };
            },
          };
          // the reference: src/quant's quantize, then the pre-quantized kernels
          const t = new Tensor('f32', [M, K], x);
          const layout = groupLayout([M, K], unsigned ? PER_TENSOR : PER_TOKEN);
          const mm = groupMinMax(t, layout);
          const qp = chooseQParams(mm.min, mm.max, bt, rule);
          const codes = quantize(t, qp, layout, bt, c).data as Int8Array | Uint8Array;
          const acts = { data: codes, M, K, scales: qp.scale, zeros: Int32Array.from(qp.zeroPoint) };
          const w8 = packI8(genInt8Weights(rng, N, K, false, 'random'));
          const w4 = packI4(genInt4Weights(rng, N, K, 16, false, 'random'));
          const bias = new Float32Array(N).map(() => rng.normal());
          try {
            const ref = new Float32Array(M * N);
            const got = new Float32Array(M * N);
            gemmI8(acts, w8, bias, ref);
            const used = gemmI8Dynamic(x, M, w8, dyn, bias, got);
            expect(Array.from(used.scale)).toEqual(Array.from(qp.scale));
            expectBitExact('gemmI8Dynamic', `M×N×K=${M}×${N}×${K} ${gran} ${conv}`, ref, got);
            gemmW4A8(acts, w4, bias, ref);
            gemmW4A8Dynamic(x, M, w4, dyn, bias, got);
            expectBitExact('gemmW4A8Dynamic', `M×N×K=${M}×${N}×${K} ${gran} ${conv}`, ref, got);
          } finally {
            w8.free();
            w4.free();
          }
        },
      ),
      { numRuns: 40, seed: 0x53 },
    );
    expect(runs).toBe(40);
  });

  it('NaN in x, or a zero point outside the code range -> ValueError', () => {
    const w8 = packI8(genInt8Weights(new Rng(1), 3, 4, false, 'random'));
    const x = new Float32Array(8).fill(1);
    x[6] = NaN;
    const dyn: DynamicQuant = { unsigned: false, formula: { scaleOp: 'div', zeroPoint: 'post-round', qmin: -128, qmax: 127 }, choose: () => ({ scale: Float32Array.of(1), zero: Float32Array.of(0) }) };
    expect(() => gemmI8Dynamic(x, 2, w8, dyn, null, new Float32Array(6))).toThrow(/x\[6\] \(row 1\) is NaN/);
    x[6] = 1;
    const farZero: DynamicQuant = { ...dyn, choose: () => ({ scale: Float32Array.of(1), zero: Float32Array.of(-300) }) };
    expect(() => gemmI8Dynamic(x, 2, w8, farZero, null, new Float32Array(6))).toThrow(/zero point -300 .* outside the code range/);
    w8.free();
  });

  it("outOfRange: 'report' lists QuantWM per-token rows whose zero point leaves [0, 255]; the other rows stay exact", () => {
    const M = 6;
    const K = 40;
    const N = 9;
    const rng = new Rng(77);
    const x = new Float32Array(M * K).map(() => fr(rng.normal()));
    for (let k = 0; k < K; k++) x[2 * K + k] = fr(5 + Math.abs(x[2 * K + k])); // row 2 all positive: z = round(-min/s) < 0
    const bt = bitType(8, false);
    const dyn: DynamicQuant = {
      unsigned: true,
      outOfRange: 'report',
      formula: { scaleOp: 'div', zeroPoint: 'post-round', qmin: 0, qmax: 255 },
      choose: (mn, mx) => {
        const qp = chooseQParams(mn, mx, bt, 'range-clamp');
        return { scale: qp.scale, zero: qp.zeroPoint };
      },
    };
    const w8 = packI8(genInt8Weights(rng, N, K, false, 'random'));
    const got = new Float32Array(M * N);
    const res = gemmI8Dynamic(x, M, w8, dyn, null, got);
    expect(res.badRows).toEqual([2]);
    const t = new Tensor('f32', [M, K], x);
    const layout = groupLayout([M, K], PER_TOKEN);
    const qp = chooseQParams(groupMinMax(t, layout).min, groupMinMax(t, layout).max, bt, 'range-clamp');
    const codes = quantize(t, qp, layout, bt, CONVENTIONS.onnx).data as Uint8Array;
    for (const m of [0, 1, 3, 4, 5]) {
      const row = { data: codes.slice(m * K, (m + 1) * K), M: 1, K, scales: qp.scale.slice(m, m + 1), zeros: Int32Array.of(qp.zeroPoint[m]) };
      const ref = new Float32Array(N);
      gemmI8(row, w8, null, ref);
      expectBitExact('gemmI8Dynamic report', `row ${m}`, ref, got.subarray(m * N, (m + 1) * N));
    }
    w8.free();
  });
});

describe('roundEvenRef (the twin\'s rounding) == roundHalfEven of src/quant/round.ts', () => {
  it('ties ±0.5, ±1.5, ±2.5, -0, ±Infinity, float32 values near 2^23, random', () => {
    const xs = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, -0, 0, -0.3, 0.49999997, 2 ** 23 - 0.5, -(2 ** 23) + 0.5, 2 ** 23 + 1, Infinity, -Infinity];
    const rng = new Rng(5);
    for (let i = 0; i < 2000; i++) xs.push(fr((rng.uniform() - 0.5) * 2 ** rng.int(26)), fr(rng.int(4000) - 2000 + 0.5));
    for (const x of xs) expect(Object.is(roundEvenRef(x), roundHalfEven(x)), `x = ${x}`).toBe(true);
  });
});

describe('gemmI8Static / gemmW4A8Static == quantize (src/quant) with the calibrated per-tensor (s, z), then gemmI8 / gemmW4A8 (bit-exact)', () => {
  it('uint8 minmax-asym (quantwm-uniform, pre-round z) and int8 absmax-floor; conventions quantwm-uniform, onnx, torch; exact ties on the grid', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(1, 5, 17),
        fc.constantFrom(7, 9),
        fc.constantFrom(3, 33, 148),
        fc.boolean(),
        fc.constantFrom<ConventionName>('quantwm-uniform', 'onnx', 'torch'),
        fc.nat(),
        (M, N, K, unsigned, conv, seed) => {
          runs++;
          const rng = new Rng(seed);
          const bt = bitType(8, !unsigned);
          const rule = unsigned ? 'minmax-asym' : 'absmax-floor';
          // calibrated on other data (a range wider than x's in places: saturating codes too)
          const qp = chooseQParams(Float32Array.of(fr(-2 - rng.uniform())), Float32Array.of(fr(2 + 3 * rng.uniform())), bt, rule);
          const s = qp.scale[0];
          const z = qp.zeroPoint[0];
          const x = new Float32Array(M * K).map(() => (rng.int(2) ? fr((rng.int(300) - 150 - z + 0.5) * s) : fr(rng.normal() * 3)));
          const c = CONVENTIONS[conv];
          const st: StaticQuant = { scale: s, zero: z, unsigned, formula: { scaleOp: c.scaleOp, zeroPoint: c.zeroPoint, qmin: bt.qmin, qmax: bt.qmax } };
          const t = new Tensor('f32', [M, K], x);
          const codes = quantize(t, qp, groupLayout([M, K], PER_TENSOR), bt, c).data as Int8Array | Uint8Array;
          const acts = { data: codes, M, K, scales: qp.scale, zeros: Int32Array.from(qp.zeroPoint) };
          const w8 = packI8(genInt8Weights(rng, N, K, rng.int(2) === 1, 'random'));
          const w4 = packI4(genInt4Weights(rng, N, K, 16, rng.int(2) === 1, 'random'));
          const bias = rng.int(2) ? new Float32Array(N).map(() => rng.normal()) : null;
          try {
            const ref = new Float32Array(M * N);
            const got = new Float32Array(M * N);
            gemmI8(acts, w8, bias, ref);
            gemmI8Static(x, M, w8, st, bias, got);
            expectBitExact('gemmI8Static', `M×N×K=${M}×${N}×${K} ${rule} ${conv}`, ref, got);
            gemmW4A8(acts, w4, bias, ref);
            gemmW4A8Static(x, M, w4, st, bias, got);
            expectBitExact('gemmW4A8Static', `M×N×K=${M}×${N}×${K} ${rule} ${conv}`, ref, got);
          } finally {
            w8.free();
            w4.free();
          }
        },
      ),
      { numRuns: 40, seed: 0x54 },
    );
    expect(runs).toBe(40);
  });

  it('NaN in x, a zero point outside the code range, a bad scale -> ValueError', () => {
    const w8 = packI8(genInt8Weights(new Rng(1), 3, 4, false, 'random'));
    const x = new Float32Array(8).fill(1);
    x[6] = NaN;
    const st: StaticQuant = { scale: 0.1, zero: 3, unsigned: true, formula: { scaleOp: 'div', zeroPoint: 'pre-round', qmin: 0, qmax: 255 } };
    expect(() => gemmI8Static(x, 2, w8, st, null, new Float32Array(6))).toThrow(/x\[6\] \(row 1\) is NaN/);
    x[6] = 1;
    expect(() => gemmI8Static(x, 2, w8, { ...st, zero: 256 }, null, new Float32Array(6))).toThrow(/zero point 256 is outside the code range \[0, 255\]/);
    expect(() => gemmI8Static(x, 2, w8, { ...st, scale: 0 }, null, new Float32Array(6))).toThrow(ValueError);
    w8.free();
  });
});
