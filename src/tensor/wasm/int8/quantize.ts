/**
 * Dynamic activation quantization on SIMD128 (`quant_rows_f32_i8__kc16__simd128`): the row
 * min/max an observer needs and the elementwise code formula, so that a W8A8 / W4A8 Linear
 * can quantize its input per token at kernel speed.
 *
 * This file owns NO quantization formula. The choice of (scale, zero point) stays in
 * src/quant/affine.ts (`chooseQParams`, called by the caller on the row min/max this kernel
 * returns), and `quantizeRowsI8` replicates exactly one formula, `quantizeValue` of
 * src/quant/affine.ts, for its half-to-even conventions:
 *
 *   t = f(x / s)            ('div': onnx, quantwm-uniform)    or  f(x · inv), inv = f(1/s)  ('mul-recip': torch)
 *   q = f(roundEven(t) + z) ('post-round': onnx, torch)       or  roundEven(f(t + z))        ('pre-round': quantwm-uniform)
 *   code = clamp(q, qmin, qmax)
 *
 * with f32x4.div / f32x4.mul (correctly rounded), f32x4.nearest (round half to even) and
 * f32x4.add, the same float32 operations as quantizeValue's Math.fround steps. Its catalog twin
 * is ./quantize-ref.ts; the test (test/tensor/wasm/int8-quantize.test.ts) holds kernel, twin
 * and quantizeValue itself equal, ties included. NaN inputs are a ValueError, as in `quantize`;
 * ±Infinity clamp to the range ends. Without WebAssembly SIMD, `quantizeRowsI8` runs the twin.
 *
 * Two ways into the GEMMs without the codes ever leaving the heap:
 *   dynamic (per token, or per tensor from this call's range): `quantizeInHeap`, row min/max
 *     by the kernel, then the caller's chooseQParams, then the code formula;
 *   static (per tensor, calibrated (s, z)): `quantizeStaticInHeap`, the code formula alone.
 */
import { ShapeError, ValueError } from '../../errors.js';
import { ModuleBuilder, f32, f32x4, i16x8, i32, i32x4, i8x16, select, v128 } from '../emit/index.js';
import type { Local } from '../emit/index.js';
import { compileKernel } from '../compile.js';
import { heap } from '../heap.js';
import { kernelName, type EmitContext, type KernelSpec } from '../spec.js';
import { carve, useWasm } from './scratch.js';
import { quantizeRowsRef } from './quantize-ref.js';

/** 1.5·2^23: v + MAGIC has the integer v in its low mantissa bits for |v| < 2^22. */
const MAGIC = 12582912;
const MAGIC_BITS = 0x4b400000;

export const QUANT_ROWS_SPEC: KernelSpec = {
  op: 'quant_rows',
  types: 'f32_i8',
  tile: { kc: 16 },
  isa: 'simd128',
  overreadBytes: 0,
};

/** The two places the conventions of src/quant/affine.ts differ (rounding is half-even). */
export interface CodeFormula {
  readonly scaleOp: 'div' | 'mul-recip';
  readonly zeroPoint: 'pre-round' | 'post-round';
  /** Code range, inside [-128, 127] (Int8Array output) or [0, 255] (Uint8Array output). */
  readonly qmin: number;
  readonly qmax: number;
}

export function emitQuantRows(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const mb = new ModuleBuilder(kernelName(spec));
  mb.importMemory(ctx.memory);

  // minmax(X, M, K, mn, mx, nan): per-row minimum and maximum; *nan = 1 when any x is NaN.
  // f32x4.pmin/pmax (one minps/maxps each; f32x4.min/max cost several instructions for their
  // NaN/±0 rules) are exact for non-NaN inputs up to the sign of a zero min/max, which no
  // chooseQParams rule turns into a different code; NaN is tracked separately.
  mb.func('minmax', { X: 'i32', M: 'i32', K: 'i32', mn: 'i32', mx: 'i32', nan: 'i32' }, [], (f, a) => {
    const m = f.local('i32', 'm');
    const px = f.local('i32', 'px');
    const end = f.local('i32', 'end');
    const end4 = f.local('i32', 'end4');
    const lo = f.local('f32', 'lo');
    const hi = f.local('f32', 'hi');
    const x = f.local('f32', 'x');
    const bad = f.local('i32', 'bad');
    const vlo = f.local('v128', 'vlo');
    const vhi = f.local('v128', 'vhi');
    const vx = f.local('v128', 'vx');
    const vnan = f.local('v128', 'vnan');
    f.set(vnan, v128.zero());
    f.set(bad, 0);
    f.for(m, 0, a.M, 1, () => {
      f.set(px, i32.add(a.X, i32.shl(i32.mul(m, a.K), 2)));
      f.set(end, i32.add(px, i32.shl(a.K, 2)));
      f.set(end4, i32.sub(end, 12));
      f.set(vlo, f32x4.splat(f32.load(px)));
      f.set(vhi, vlo);
      f.block((brk) =>
        f.loop((top) => {
          f.brIf(brk, i32.ge_u(px, end4));
          f.set(vx, v128.load(px));
          f.set(vnan, v128.or(vnan, f32x4.ne(vx, vx)));
          f.set(vlo, f32x4.pmin(vx, vlo));
          f.set(vhi, f32x4.pmax(vx, vhi));
          f.set(px, i32.add(px, 16));
          f.br(top);
        }),
      );
      const lane = (v: typeof vlo, i: number) => f32x4.extract_lane(v, i);
      f.set(lo, f32.min(f32.min(lane(vlo, 0), lane(vlo, 1)), f32.min(lane(vlo, 2), lane(vlo, 3))));
      f.set(hi, f32.max(f32.max(lane(vhi, 0), lane(vhi, 1)), f32.max(lane(vhi, 2), lane(vhi, 3))));
      f.block((brk) =>
        f.loop((top) => {
          f.brIf(brk, i32.ge_u(px, end));
          f.set(x, f32.load(px));
          f.set(bad, i32.or(bad, f32.ne(x, x)));
          f.set(lo, select(x, lo, f32.lt(x, lo)));
          f.set(hi, select(x, hi, f32.gt(x, hi)));
          f.set(px, i32.add(px, 4));
          f.br(top);
        }),
      );
      f.exec(f32.store(i32.add(a.mn, i32.shl(m, 2)), lo));
      f.exec(f32.store(i32.add(a.mx, i32.shl(m, 2)), hi));
    });
    f.exec(i32.store(a.nan, i32.or(bad, v128.any_true(vnan))));
  }, 'minmax');

  // quantize(X, M, K, S, INV, Z, qmin, qmax, div, post, unsigned, Q, nan)
  const params = {
    X: 'i32', M: 'i32', K: 'i32', S: 'i32', INV: 'i32', Z: 'i32', qmin: 'f32', qmax: 'f32',
    div: 'i32', post: 'i32', unsigned: 'i32', Q: 'i32', nan: 'i32',
  } as const;
  mb.func('quantize', params, [], (f, a) => {
    const m = f.local('i32', 'm');
    const px = f.local('i32', 'px');
    const pq = f.local('i32', 'pq');
    const end = f.local('i32', 'end');
    const end16 = f.local('i32', 'end16');
    const s = f.local('f32', 's');
    const inv = f.local('f32', 'inv');
    const z = f.local('f32', 'z');
    const x = f.local('f32', 'x');
    const t = f.local('f32', 't');
    const vs = f.local('v128', 'vs');
    const vinv = f.local('v128', 'vinv');
    const vz = f.local('v128', 'vz');
    const vmin = f.local('v128', 'vmin');
    const vmax = f.local('v128', 'vmax');
    const vnan = f.local('v128', 'vnan');
    const vt = f.local('v128', 'vt');
    const vq: Local[] = [0, 1, 2, 3].map((i) => f.local('v128', `vq${i}`));
    const vmagic = f.local('v128', 'vmagic');
    const vmagicBits = f.local('v128', 'vmagicBits');
    f.set(vmagic, v128.const_f32x4([MAGIC, MAGIC, MAGIC, MAGIC]));
    f.set(vmagicBits, v128.const_i32x4([MAGIC_BITS, MAGIC_BITS, MAGIC_BITS, MAGIC_BITS]));
    f.set(vmin, f32x4.splat(a.qmin));
    f.set(vmax, f32x4.splat(a.qmax));
    f.set(vnan, v128.zero());
    f.for(m, 0, a.M, 1, () => {
      f.set(s, f32.load(i32.add(a.S, i32.shl(m, 2))));
      f.set(inv, f32.load(i32.add(a.INV, i32.shl(m, 2))));
      f.set(z, f32.load(i32.add(a.Z, i32.shl(m, 2))));
      f.set(vs, f32x4.splat(s));
      f.set(vinv, f32x4.splat(inv));
      f.set(vz, f32x4.splat(z));
      f.set(px, i32.add(a.X, i32.shl(i32.mul(m, a.K), 2)));
      f.set(pq, i32.add(a.Q, i32.mul(m, a.K)));
      f.set(end, i32.add(px, i32.shl(a.K, 2)));
      f.set(end16, i32.sub(end, 60));
      // 16 values per step: four f32x4 -> codes -> one i8x16
      f.block((brk) =>
        f.loop((top) => {
          f.brIf(brk, i32.ge_u(px, end16));
          for (let j = 0; j < 4; j++) {
            f.set(vt, v128.load(px, 16 * j));
            f.set(vnan, v128.or(vnan, f32x4.ne(vt, vt)));
            f.if(a.div, () => f.set(vt, f32x4.div(vt, vs)), () => f.set(vt, f32x4.mul(vt, vinv)));
            f.if(a.post, () => f.set(vt, f32x4.add(f32x4.nearest(vt), vz)), () => f.set(vt, f32x4.nearest(f32x4.add(vt, vz))));
            // clamp (t is never NaN here: NaN inputs are flagged above), then the exact
            // integer-valued float -> i32 by the 1.5·2^23 trick (2 ops; trunc_sat costs ~6 on x64)
            f.set(vt, f32x4.pmin(vmax, f32x4.pmax(vmin, vt)));
            f.set(vq[j], i32x4.sub(f32x4.add(vt, vmagic), vmagicBits));
          }
          const lo = i16x8.narrow_i32x4_s(vq[0], vq[1]);
          const hi = i16x8.narrow_i32x4_s(vq[2], vq[3]);
          f.if(a.unsigned, () => f.exec(v128.store(pq, i8x16.narrow_i16x8_u(lo, hi))), () => f.exec(v128.store(pq, i8x16.narrow_i16x8_s(lo, hi))));
          f.set(px, i32.add(px, 64));
          f.set(pq, i32.add(pq, 16));
          f.br(top);
        }),
      );
      // tail: the same formula with scalar f32 ops
      f.block((brk) =>
        f.loop((top) => {
          f.brIf(brk, i32.ge_u(px, end));
          f.set(x, f32.load(px));
          f.if(f32.ne(x, x), () => f.set(vnan, v128.const_i32x4([-1, -1, -1, -1])));
          f.if(a.div, () => f.set(t, f32.div(x, s)), () => f.set(t, f32.mul(x, inv)));
          f.if(a.post, () => f.set(t, f32.add(f32.nearest(t), z)), () => f.set(t, f32.nearest(f32.add(t, z))));
          f.exec(i32.store8(pq, i32.trunc_sat_f32_s(f32.min(f32.max(t, a.qmin), a.qmax))));
          f.set(px, i32.add(px, 4));
          f.set(pq, i32.add(pq, 1));
          f.br(top);
        }),
      );
    });
    f.exec(i32.store(a.nan, v128.any_true(vnan)));
  }, 'quantize');
  return mb;
}

function rowsOf(where: string, x: Float32Array, M: number, K: number): void {
  if (!Number.isInteger(M) || M < 1 || !Number.isInteger(K) || K < 1) throw new ShapeError(where, `M and K must be positive integers, got ${M}, ${K}`);
  if (x.length !== M * K) throw new ShapeError(where, `x has length ${x.length}, expected M·K = ${M}·${K}`);
}

/**
 * Per-row minimum and maximum (an observer's input for dynamic per-token parameters), equal
 * to groupMinMax of src/quant/affine.ts up to the sign of a zero result. NaN is a ValueError.
 * @param x (M, K) float32
 */
export function rowMinMax(x: Float32Array, M: number, K: number): { min: Float32Array; max: Float32Array } {
  rowsOf('rowMinMax', x, M, K);
  const min = new Float32Array(M);
  const max = new Float32Array(M);
  if (!useWasm()) {
    for (let m = 0; m < M; m++) {
      let lo = x[m * K];
      let hi = lo;
      for (let k = 0; k < K; k++) {
        const v = x[m * K + k];
        if (v !== v) throw new ValueError('rowMinMax', `x[${m * K + k}] (row ${m}) is NaN`);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      min[m] = lo;
      max[m] = hi;
    }
    return { min, max };
  }
  const h = heap();
  const { off, total } = carve({ X: M * K * 4, mn: M * 4, mx: M * 4, nan: 4 });
  const base = h.alloc(total);
  try {
    const k = compileKernel(QUANT_ROWS_SPEC, emitQuantRows);
    new Float32Array(h.buffer, base + off.X, M * K).set(x);
    (k.exports.minmax as (...a: number[]) => void)(base + off.X, M, K, base + off.mn, base + off.mx, base + off.nan);
    if (new Int32Array(h.buffer, base + off.nan, 1)[0] !== 0) {
      const i = x.findIndex((v) => v !== v);
      throw new ValueError('rowMinMax', `x[${i}] (row ${Math.floor(i / K)}) is NaN`);
    }
    min.set(new Float32Array(h.buffer, base + off.mn, M));
    max.set(new Float32Array(h.buffer, base + off.mx, M));
  } finally {
    h.release(base);
  }
  return { min, max };
}

/** Check (scale, zero) against M and the code range; expand to per-row S, Z and INV = fr(1/S). */
function rowParams(where: string, M: number, scale: Float32Array, zero: Float32Array, formula: CodeFormula, unsigned: boolean): { S: Float32Array; Z: Float32Array; INV: Float32Array } {
  if ((scale.length !== 1 && scale.length !== M) || zero.length !== scale.length) {
    throw new ShapeError(where, `scale/zero have lengths ${scale.length}/${zero.length}, expected both 1 or M = ${M}`);
  }
  const [lo, hi] = unsigned ? [0, 255] : [-128, 127];
  const { qmin, qmax } = formula;
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || qmin < lo || qmax > hi || qmin > qmax) {
    throw new ValueError(where, `code range [${qmin}, ${qmax}] does not fit ${unsigned ? 'uint8' : 'int8'} output`);
  }
  for (let i = 0; i < scale.length; i++) {
    if (!(scale[i] > 0) || !Number.isFinite(scale[i])) throw new ValueError(where, `scale[${i}] = ${scale[i]} is not a positive finite number`);
    if (!Number.isInteger(zero[i])) throw new ValueError(where, `zero[${i}] = ${zero[i]} is not an integer`);
  }
  const S = new Float32Array(M);
  const Z = new Float32Array(M);
  if (scale.length === 1) {
    S.fill(scale[0]);
    Z.fill(zero[0]);
  } else {
    S.set(scale);
    Z.set(zero);
  }
  return { S, Z, INV: S.map((s) => Math.fround(1 / s)) };
}

function requireWasm(where: string): void {
  // the TypeScript form of this formula is src/quant/affine.ts `quantize`; no second copy here
  if (!useWasm()) throw new ValueError(where, 'WebAssembly SIMD is unavailable: use quantize() of src/quant/affine.ts');
}

/** Heap bytes `quantizeInHeap` needs for M rows (x is read from the caller's heap pointer). */
export function quantizeScratchSizes(M: number): Record<string, number> {
  return { q_mn: M * 4, q_mx: M * 4, q_S: M * 4, q_INV: M * 4, q_Z: M * 4, q_nan: 4 };
}

/**
 * Dynamic quantization inside the heap: x (M, K) f32 at `xPtr` -> codes (M, K) at `qPtr`.
 * Row min/max by the kernel, then `dyn.choose` (the caller's src/quant chooseQParams) picks
 * (scale, zero), then the code formula. `scratch` holds the offsets of quantizeScratchSizes
 * (absolute pointers). `x` is the caller's host copy, used only to name a NaN.
 * @returns the (scale, zero) used, length 1 or M
 */
export function quantizeInHeap(
  where: string, x: Float32Array, M: number, K: number, xPtr: number, qPtr: number, scratch: Record<string, number>, dyn: DynamicQuant,
): { scale: Float32Array; zero: Float32Array } {
  requireWasm(where);
  const h = heap();
  const k = compileKernel(QUANT_ROWS_SPEC, emitQuantRows);
  (k.exports.minmax as (...a: number[]) => void)(xPtr, M, K, scratch.q_mn, scratch.q_mx, scratch.q_nan);
  if (new Int32Array(h.buffer, scratch.q_nan, 1)[0] !== 0) {
    const i = x.findIndex((v) => v !== v);
    throw new ValueError(where, `x[${i}] (row ${Math.floor(i / K)}) is NaN`);
  }
  const min = new Float32Array(h.buffer, scratch.q_mn, M).slice();
  const max = new Float32Array(h.buffer, scratch.q_mx, M).slice();
  const { scale, zero } = dyn.choose(min, max);
  const { S, Z, INV } = rowParams(where, M, scale, zero, dyn.formula, dyn.unsigned);
  new Float32Array(h.buffer, scratch.q_S, M).set(S);
  new Float32Array(h.buffer, scratch.q_INV, M).set(INV);
  new Float32Array(h.buffer, scratch.q_Z, M).set(Z);
  (k.exports.quantize as (...a: number[]) => void)(
    xPtr, M, K, scratch.q_S, scratch.q_INV, scratch.q_Z, dyn.formula.qmin, dyn.formula.qmax,
    dyn.formula.scaleOp === 'div' ? 1 : 0, dyn.formula.zeroPoint === 'post-round' ? 1 : 0, dyn.unsigned ? 1 : 0, qPtr, scratch.q_nan,
  );
  return { scale: scale.slice(), zero: zero.slice() };
}

/**
 * How a W8A8/W4A8 layer quantizes its float input on the fly: `choose` maps the per-row
 * min/max (M) to (scale, zero) per tensor (length 1) or per row (length M) (the layer's
 * src/quant chooseQParams rule; per-tensor rules reduce the rows first), `formula` is the
 * convention's code formula, `unsigned` picks uint8 or int8 codes.
 */
export interface DynamicQuant {
  readonly choose: (rowMin: Float32Array, rowMax: Float32Array) => { scale: Float32Array; zero: Float32Array };
  readonly formula: CodeFormula;
  readonly unsigned: boolean;
  /**
   * Rows whose zero point lies outside the code range (QuantWM's per-token rule does not clamp
   * z) break the kernels' i16 widening contract. 'throw' (default): ValueError. 'report': those
   * rows are computed with a placeholder zero point 0 (finite, wrong) and listed in the
   * result's `badRows` for the caller to evaluate exactly.
   */
  readonly outOfRange?: 'throw' | 'report';
}

/**
 * codes[m,k] = quantizeValue(x[m,k], s, fr(1/s), z, qmin, qmax, convention) of
 * src/quant/affine.ts, with (s, z) per row (length M) or per tensor (length 1).
 * @param x (M, K) float32 (NaN is a ValueError)
 * @param scale (1 | M) positive finite float32 scales
 * @param zero (1 | M) integer zero points (float-held, as QParams)
 * @param out (M, K) Int8Array (qmin >= -128) or Uint8Array (qmin >= 0), overwritten
 */
export function quantizeRowsI8(
  x: Float32Array, M: number, K: number, scale: Float32Array, zero: Float32Array, formula: CodeFormula, out: Int8Array | Uint8Array,
): void {
  const where = 'quantizeRowsI8';
  rowsOf(where, x, M, K);
  if (out.length !== M * K) throw new ShapeError(where, `out has length ${out.length}, expected M·K = ${M}·${K}`);
  const unsigned = out instanceof Uint8Array;
  const { S, Z, INV } = rowParams(where, M, scale, zero, formula, unsigned);
  const div = formula.scaleOp === 'div';
  const post = formula.zeroPoint === 'post-round';
  const firstNaN = (): never => {
    const i = x.findIndex((v) => v !== v);
    throw new ValueError(where, `x[${i}] (row ${Math.floor(i / K)}) is NaN`);
  };
  if (!useWasm()) {
    quantizeRowsRef(x, M, K, scale, zero, formula, out);
    return;
  }
  const h = heap();
  const { off, total } = carve({ X: M * K * 4, S: M * 4, INV: M * 4, Z: M * 4, Q: M * K, nan: 4 });
  const base = h.alloc(total);
  try {
    const k = compileKernel(QUANT_ROWS_SPEC, emitQuantRows);
    new Float32Array(h.buffer, base + off.X, M * K).set(x);
    new Float32Array(h.buffer, base + off.S, M).set(S);
    new Float32Array(h.buffer, base + off.INV, M).set(INV);
    new Float32Array(h.buffer, base + off.Z, M).set(Z);
    (k.exports.quantize as (...a: number[]) => void)(
      base + off.X, M, K, base + off.S, base + off.INV, base + off.Z, formula.qmin, formula.qmax, div ? 1 : 0, post ? 1 : 0, unsigned ? 1 : 0, base + off.Q, base + off.nan,
    );
    if (new Int32Array(h.buffer, base + off.nan, 1)[0] !== 0) firstNaN();
    out.set(unsigned ? new Uint8Array(h.buffer, base + off.Q, M * K) : new Int8Array(h.buffer, base + off.Q, M * K));
  } finally {
    h.release(base);
  }
}

/**
 * A static (calibrated) per-tensor activation quantizer: one (scale, zero) for every row, the
 * convention's code formula, uint8 or int8 codes. The zero point must lie in the code range
 * (the kernels' i16 widening contract).
 */
export interface StaticQuant {
  readonly scale: number;
  readonly zero: number;
  readonly formula: CodeFormula;
  readonly unsigned: boolean;
}

/** Heap bytes `quantizeStaticInHeap` needs for M rows (x is read from the caller's heap pointer). */
export function staticScratchSizes(M: number): Record<string, number> {
  return { q_S: M * 4, q_INV: M * 4, q_Z: M * 4, q_nan: 4 };
}

/**
 * Static quantization inside the heap: x (M, K) f32 at `xPtr` -> codes (M, K) at `qPtr` with
 * the fixed (s, z) of `st` broadcast to every row, by the same `quantize` kernel as the dynamic
 * path (no min/max pass). `scratch` holds the absolute pointers of staticScratchSizes. `x` is the
 * caller's host copy, used only to name a NaN.
 * @throws ValueError on NaN in x, a scale that is not positive finite, or a zero point that is
 *   not an integer inside the code range
 */
export function quantizeStaticInHeap(
  where: string, x: Float32Array, M: number, K: number, xPtr: number, qPtr: number, scratch: Record<string, number>, st: StaticQuant,
): void {
  requireWasm(where);
  const [lo, hi] = st.unsigned ? [0, 255] : [-128, 127];
  if (!(st.zero >= lo && st.zero <= hi)) throw new ValueError(where, `zero point ${st.zero} is outside the code range [${lo}, ${hi}]`);
  const { S, Z, INV } = rowParams(where, M, Float32Array.of(st.scale), Float32Array.of(st.zero), st.formula, st.unsigned);
  const h = heap();
  const k = compileKernel(QUANT_ROWS_SPEC, emitQuantRows);
  new Float32Array(h.buffer, scratch.q_S, M).set(S);
  new Float32Array(h.buffer, scratch.q_INV, M).set(INV);
  new Float32Array(h.buffer, scratch.q_Z, M).set(Z);
  (k.exports.quantize as (...a: number[]) => void)(
    xPtr, M, K, scratch.q_S, scratch.q_INV, scratch.q_Z, st.formula.qmin, st.formula.qmax,
    st.formula.scaleOp === 'div' ? 1 : 0, st.formula.zeroPoint === 'post-round' ? 1 : 0, st.unsigned ? 1 : 0, qPtr, scratch.q_nan,
  );
  if (new Int32Array(h.buffer, scratch.q_nan, 1)[0] !== 0) {
    const i = x.findIndex((v) => v !== v);
    throw new ValueError(where, `x[${i}] (row ${Math.floor(i / K)}) is NaN`);
  }
}
