/**
 * THE home of the affine quantization formulas. Every method (RTN, OMSE, SmoothQuant, AWQ,
 * OmniQuant, GPTQ) and every execution path imports from here.
 *
 * Float semantics: every step is the float32 operation PyTorch/ONNX perform, written as
 * Math.fround of the exactly-rounded double operation. For +, -, *, / that is the correctly
 * rounded float32 result (a double has more than 2*24+2 bits, so rounding twice is innocuous).
 *
 * Rounding: `roundHalfEven` everywhere (torch.round, std::nearbyint, ONNX rint).
 *
 * A convention fixes the two places where the anchors disagree (runtime-and-quant-anchors §0.5):
 *
 * | convention        | code q                                        | who                          |
 * |-------------------|-----------------------------------------------|------------------------------|
 * | 'quantwm-uniform' | clamp(round(fr(fr(x / s) + z)), qmin, qmax)   | QuantWM UniformQuantizer      |
 * | 'onnx'            | clamp(fr(round(fr(x / s)) + z), qmin, qmax)   | ONNX QuantizeLinear; QuantWM  |
 * |                   |                                               | per-token, OMSE search; AWQ;  |
 * |                   |                                               | OmniQuant; GPTQ               |
 * | 'torch'           | clamp(fr(round(fr(x * fr(1 / s))) + z), ...)  | torch.fake_quantize_*_affine  |
 *
 * and every convention dequantizes as x̂ = fr((q - z) * s). `fr` = Math.fround.
 *
 * Worked tie (why the convention matters): s = 0.1f (0.100000001490116), x = 0.25f:
 *   'onnx'  x / s  = fr(2.4999999627...)  = 2.5 exactly -> round -> 2
 *   'torch' 1 / s  = fr(9.99999985...)    = 10 (rounded) ; x * 10 = 2.5 -> 2; same here, but for
 *   about 12% of constructed ties (x = fr((k + 0.5) s)) the two forms give different integers.
 * And pre- vs post-round zero points differ when fr(t + z) lands on a tie that t was not on.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { BitType } from './bittype.js';
import { groupLayout, type GroupLayout } from './granularity.js';
import { roundHalfAwayFromZero, roundHalfEven, type Rounding } from './round.js';

const fr = Math.fround;

/** float32 machine epsilon 2^-23 (torch.finfo(torch.float32).eps), QuantWM's min-max scale floor. */
export const EPS32 = 1.1920928955078125e-7;
/** fr(1e-5): the scale floor of QuantWM's OMSE/per-token code, AWQ, SmoothQuant, OmniQuant (CLIPMIN). */
export const CLIP_MIN = fr(1e-5);
/** fr(1e4): the scale and zero-point ceiling of QuantWM's OMSE/per-token code and OmniQuant (CLIPMAX). */
export const CLIP_MAX = fr(1e4);

// ---------------------------------------------------------------------------------------------
// Conventions

export type ConventionName = 'quantwm-uniform' | 'onnx' | 'torch';

export interface Convention {
  readonly name: ConventionName;
  /** 'div': t = fr(x / s); 'mul-recip': t = fr(x * fr(1 / s)) */
  readonly scaleOp: 'div' | 'mul-recip';
  /** 'pre-round': q = round(fr(t + z)); 'post-round': q = fr(round(t) + z) */
  readonly zeroPoint: 'pre-round' | 'post-round';
  readonly rounding: Rounding;
}

export const CONVENTIONS: Readonly<Record<ConventionName, Convention>> = Object.freeze({
  'quantwm-uniform': Object.freeze({ name: 'quantwm-uniform', scaleOp: 'div', zeroPoint: 'pre-round', rounding: 'half-even' }),
  onnx: Object.freeze({ name: 'onnx', scaleOp: 'div', zeroPoint: 'post-round', rounding: 'half-even' }),
  torch: Object.freeze({ name: 'torch', scaleOp: 'mul-recip', zeroPoint: 'post-round', rounding: 'half-even' }),
} as const);

/** The convention named `name`; a ValueError names the known ones. */
export function convention(name: string): Convention {
  const c = (CONVENTIONS as Record<string, Convention | undefined>)[name];
  if (!c) throw new ValueError('convention', `unknown convention '${name}' (known: ${Object.keys(CONVENTIONS).join(', ')})`);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Parameters

/** One (scale, zero point) per group. Zero points are integers held as float32, as QuantWM's are. */
export interface QParams {
  readonly scale: Float32Array;
  readonly zeroPoint: Float32Array;
}

/** An integer range [qmin, qmax]; a BitType is one. */
export interface QRange {
  readonly qmin: number;
  readonly qmax: number;
}

/**
 * How a scale and zero point are chosen from a group's min and max. One switch in
 * `chooseQParams` holds all of them; `absmax` = max(-min, max) (equal to max(|min|, |max|)).
 *
 * | rule           | scale s                                          | zero point z                          | origin                                  |
 * |----------------|--------------------------------------------------|---------------------------------------|-----------------------------------------|
 * | 'minmax-sym'   | max(fr(absmax / ((qmax-qmin)/2)), EPS32)         | 0                                     | QuantWM minmax/percentile, signed        |
 * | 'minmax-asym'  | max(fr((max-min) / (qmax-qmin)), EPS32)          | clamp(qmin - round(fr(min/s)), q-range)| QuantWM minmax/percentile/OMSE-act, unsigned |
 * | 'absmax-clamp' | clamp(fr(absmax / qmax), CLIP_MIN, CLIP_MAX)     | 0                                     | QuantWM OMSE weights, OmniQuant sym      |
 * | 'range-clamp'  | clamp(fr((max-min) / (qmax-qmin)), CLIP_MIN, CLIP_MAX) | round(clamp(fr(-min/s), ±CLIP_MAX)) (not clamped to the q-range) | QuantWM per-token, OmniQuant asym |
 * | 'awq-asym'     | fr(max(fr(max-min), CLIP_MIN) / (qmax-qmin))     | clamp(-round(fr(min/s)), q-range)     | AWQ pseudo_quantize_tensor(zero_point)   |
 * | 'absmax-floor' | fr(max(absmax, CLIP_MIN) / qmax)                 | 0                                     | AWQ zero_point=False, SmoothQuant W8     |
 * | 'gptq-asym'    | fr((xmax-xmin) / qmax), xmin = min(min,0), xmax = max(max,0), [-1,1] if both 0 | round(fr(-xmin/s)) | GPTQ quant.py find_params |
 * | 'gptq-sym'     | as gptq-asym after xmax = max(-xmin, xmax), xmin = -xmax if xmin < 0 | (qmax+1)/2                | GPTQ sym (unsigned codes)                |
 * | 'onnx-dynamic' | fr((xmax-xmin) / (qmax-qmin)) with the range widened to 0; 1 if xmax = xmin | round(clamp(fr(qmin - fr(xmin/s)), q-range)) | ONNX Runtime DynamicQuantizeLinear |
 *
 * Worked numbers, int8 'minmax-sym', absmax = 2.55: s = fr(2.55 / 127.5) = 0.02 (0.0199999995...);
 * x = 2.55 gives x / s = 127.5 -> round 128 -> clamp 127: the positive extreme is clipped by half a step.
 * uint8 'minmax-asym', [min, max] = [-1, 1.55]: s = fr(2.55 / 255) = 0.01, z = 0 - round(-100) = 100.
 */
export type ScaleRule =
  | 'minmax-sym'
  | 'minmax-asym'
  | 'absmax-clamp'
  | 'range-clamp'
  | 'awq-asym'
  | 'absmax-floor'
  | 'gptq-asym'
  | 'gptq-sym'
  | 'onnx-dynamic';

/** Does the rule need a signed range (true), an unsigned one (false)? */
export const RULE_SIGNED: Readonly<Record<ScaleRule, boolean>> = Object.freeze({
  'minmax-sym': true,
  'minmax-asym': false,
  'absmax-clamp': true,
  'range-clamp': false,
  'awq-asym': false,
  'absmax-floor': true,
  'gptq-asym': false,
  'gptq-sym': false,
  'onnx-dynamic': false,
});

function clamp(v: number, lo: number, hi: number): number {
  // Written as compares so that -0 survives, as torch's clamp (vectorized max/min) keeps it.
  return v < lo ? lo : v > hi ? hi : v;
}

/** (s, z) of one group; see ScaleRule for every formula. min and max must be float32 values, min <= max. */
export function chooseQParam(min: number, max: number, range: QRange, rule: ScaleRule): [number, number] {
  const { qmin, qmax } = range;
  switch (rule) {
    case 'minmax-sym': {
      const absmax = Math.max(-min, max);
      const s = fr(absmax / fr((qmax - qmin) / 2));
      return [Math.max(s, EPS32), 0];
    }
    case 'minmax-asym': {
      const s = Math.max(fr(fr(max - min) / (qmax - qmin)), EPS32);
      return [s, clamp(qmin - roundHalfEven(fr(min / s)), qmin, qmax)];
    }
    case 'absmax-clamp': {
      const absmax = Math.max(-min, max);
      return [clamp(fr(absmax / qmax), CLIP_MIN, CLIP_MAX), 0];
    }
    case 'range-clamp': {
      const s = clamp(fr(fr(max - min) / (qmax - qmin)), CLIP_MIN, CLIP_MAX);
      return [s, roundHalfEven(clamp(fr(-min / s), -CLIP_MAX, CLIP_MAX))];
    }
    case 'awq-asym': {
      const s = fr(Math.max(fr(max - min), CLIP_MIN) / (qmax - qmin));
      return [s, clamp(-roundHalfEven(fr(min / s)), qmin, qmax)];
    }
    case 'absmax-floor': {
      const absmax = Math.max(-min, max);
      return [fr(Math.max(absmax, CLIP_MIN) / qmax), 0];
    }
    case 'gptq-asym':
    case 'gptq-sym': {
      let xmin = Math.min(min, 0);
      let xmax = Math.max(max, 0);
      if (rule === 'gptq-sym') {
        xmax = Math.max(Math.abs(xmin), xmax);
        if (xmin < 0) xmin = -xmax;
      }
      if (xmin === 0 && xmax === 0) {
        xmin = -1;
        xmax = 1;
      }
      const s = fr(fr(xmax - xmin) / qmax);
      return [s, rule === 'gptq-sym' ? (qmax + 1) / 2 : roundHalfEven(fr(-xmin / s))];
    }
    case 'onnx-dynamic': {
      const xmin = Math.min(min, 0);
      const xmax = Math.max(max, 0);
      const s = xmax === xmin ? 1 : fr(fr(xmax - xmin) / (qmax - qmin));
      return [s, roundHalfEven(clamp(fr(qmin - fr(xmin / s)), qmin, qmax))];
    }
  }
}

/**
 * One (scale, zero point) per group from per-group min and max (observer output).
 * @param min (G) float32 group minima
 * @param max (G) float32 group maxima
 * @throws ValueError on NaN/Infinity, min > max, or a range of the wrong signedness for `rule`
 */
export function chooseQParams(min: Float32Array, max: Float32Array, range: BitType | QRange, rule: ScaleRule): QParams {
  const where = `chooseQParams(${rule})`;
  if (min.length !== max.length) throw new ShapeError(where, `min has ${min.length} groups, max has ${max.length}`);
  checkRange(where, range, rule);
  const scale = new Float32Array(min.length);
  const zeroPoint = new Float32Array(min.length);
  for (let g = 0; g < min.length; g++) {
    const lo = min[g];
    const hi = max[g];
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
      throw new ValueError(where, `group ${g}: need finite min <= max, got [${lo}, ${hi}]`);
    }
    const [s, z] = chooseQParam(lo, hi, range, rule);
    scale[g] = s;
    zeroPoint[g] = z;
  }
  return { scale, zeroPoint };
}

function checkRange(where: string, range: BitType | QRange, rule: ScaleRule): void {
  if ('off' in range && range.off) throw new ValueError(where, `bit type '${range.name}' is off (16 bits): nothing to quantize`);
  const signed = range.qmin < 0;
  if (signed !== RULE_SIGNED[rule]) {
    throw new ValueError(where, `rule '${rule}' needs a ${RULE_SIGNED[rule] ? 'signed' : 'unsigned'} range, got [${range.qmin}, ${range.qmax}]`);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise formulas

/**
 * The integer code of one value: t = x / s (or x * fr(1/s)), rounded half to even, zero point
 * added before or after rounding per the convention, clamped to [qmin, qmax].
 * `inv` must be fr(1 / s) (used by 'mul-recip' only).
 */
export function quantizeValue(x: number, s: number, inv: number, z: number, qmin: number, qmax: number, conv: Convention): number {
  const t = conv.scaleOp === 'div' ? fr(x / s) : fr(x * inv);
  const round = conv.rounding === 'half-even' ? roundHalfEven : roundHalfAwayFromZero;
  const q = conv.zeroPoint === 'pre-round' ? round(fr(t + z)) : fr(round(t) + z);
  return clamp(q, qmin, qmax);
}

/** x̂ = fr((q - z) * s). */
export function dequantizeValue(q: number, s: number, z: number): number {
  return fr((q - z) * s);
}

function checkParams(where: string, layout: GroupLayout, qp: QParams): void {
  if (qp.scale.length !== layout.numGroups || qp.zeroPoint.length !== layout.numGroups) {
    throw new ShapeError(
      where,
      `layout has ${layout.numGroups} groups but scale has ${qp.scale.length} and zeroPoint ${qp.zeroPoint.length}`,
    );
  }
  for (let g = 0; g < layout.numGroups; g++) {
    const s = qp.scale[g];
    if (!(s > 0) || !Number.isFinite(s)) throw new ValueError(where, `scale[${g}] = ${s} is not a positive finite number`);
    if (!Number.isInteger(qp.zeroPoint[g])) throw new ValueError(where, `zeroPoint[${g}] = ${qp.zeroPoint[g]} is not an integer`);
  }
}

function layoutOf(where: string, x: Tensor, layout: GroupLayout): void {
  if (x.size !== layout.rows * layout.cols || x.shape[x.shape.length - 1] !== layout.cols) {
    throw new ShapeError(where, `tensor ${fmtShape(x.shape)} does not match the (${layout.rows}, ${layout.cols}) group layout`);
  }
}

/**
 * Integer codes q (see quantizeValue) of x, one (s, z) per group of `layout`.
 * @param x (..., C) f32; NaN is a ValueError
 * @returns codes of x's shape: 'i8' for a signed range, 'u8' for an unsigned one (ranges up to 8 bits), else 'i32'
 */
export function quantize(x: Tensor, qp: QParams, layout: GroupLayout, range: QRange, conv: Convention): Tensor {
  const where = `quantize(${conv.name})`;
  if (x.dtype !== 'f32') throw new DTypeError(where, `x must be f32, got ${x.dtype}`);
  layoutOf(where, x, layout);
  checkParams(where, layout, qp);
  const X = x.data as Float32Array;
  const dtype = range.qmin >= -128 && range.qmax <= 127 ? 'i8' : range.qmin >= 0 && range.qmax <= 255 ? 'u8' : 'i32';
  const out = new Tensor(dtype, x.shape);
  const Q = out.data;
  forEachGroup(layout, qp, (g, s, inv, z, i) => {
    const v = X[i];
    if (v !== v) throw new ValueError(where, `x[${i}] is NaN`);
    Q[i] = quantizeValue(v, s, inv, z, range.qmin, range.qmax, conv);
  });
  return out;
}

/**
 * x̂ = fr((q - z) * s) per group.
 * @param q (..., C) integer codes (i8, u8, i32, or packed i4/u4)
 * @returns (..., C) f32
 */
export function dequantize(q: Tensor, qp: QParams, layout: GroupLayout): Tensor<'f32'> {
  const where = 'dequantize';
  if (q.dtype === 'f32') throw new DTypeError(where, 'codes must be an integer dtype, got f32');
  layoutOf(where, q, layout);
  checkParams(where, layout, qp);
  const out = new Float32Array(q.size);
  const packed = q.dtype === 'i4' || q.dtype === 'u4';
  const Q = q.data;
  forEachGroup(layout, qp, (g, s, _inv, z, i) => {
    out[i] = dequantizeValue(packed ? q.at(i) : Q[i], s, z);
  });
  return new Tensor('f32', q.shape, out);
}

/**
 * dequantize(quantize(x)) in one pass: x̂ = fr((clamp(q) - z) * s), the simulated quantization
 * every method is measured with. Same arithmetic as quantizeValue/dequantizeValue, written as
 * one loop per group (no per-element calls) because activations are quantized on every forward.
 * @param x (..., C) f32; NaN is a ValueError
 * @returns (..., C) f32
 */
export function fakeQuantize(x: Tensor, qp: QParams, layout: GroupLayout, range: QRange, conv: Convention): Tensor<'f32'> {
  const where = `fakeQuantize(${conv.name})`;
  if (x.dtype !== 'f32') throw new DTypeError(where, `x must be f32, got ${x.dtype}`);
  layoutOf(where, x, layout);
  checkParams(where, layout, qp);
  const X = x.data as Float32Array;
  const out = new Float32Array(x.size);
  const { start, count, stride } = layout;
  const { qmin, qmax } = range;
  const halfEven = conv.rounding === 'half-even';
  for (let g = 0; g < layout.numGroups; g++) {
    const s = qp.scale[g];
    const z = qp.zeroPoint[g];
    const i0 = start[g];
    const i1 = i0 + count[g] * stride;
    // one loop per convention, so the hot loop has no per-element dispatch
    if (halfEven && conv.scaleOp === 'div' && conv.zeroPoint === 'post-round') {
      for (let i = i0; i < i1; i += stride) {
        const v = X[i];
        if (v !== v) throw new ValueError(where, `x[${i}] is NaN`);
        let q = fr(roundHalfEven(fr(v / s)) + z);
        q = q < qmin ? qmin : q > qmax ? qmax : q;
        out[i] = fr((q - z) * s);
      }
    } else if (halfEven && conv.scaleOp === 'div') {
      for (let i = i0; i < i1; i += stride) {
        const v = X[i];
        if (v !== v) throw new ValueError(where, `x[${i}] is NaN`);
        let q = roundHalfEven(fr(fr(v / s) + z));
        q = q < qmin ? qmin : q > qmax ? qmax : q;
        out[i] = fr((q - z) * s);
      }
    } else {
      const inv = fr(1 / s);
      for (let i = i0; i < i1; i += stride) {
        const v = X[i];
        if (v !== v) throw new ValueError(where, `x[${i}] is NaN`);
        out[i] = fr((quantizeValue(v, s, inv, z, qmin, qmax, conv) - z) * s);
      }
    }
  }
  return new Tensor('f32', x.shape, out);
}

/** Visit every element i of every group g with that group's s, fr(1/s), z. */
export function forEachGroup(
  layout: GroupLayout,
  qp: QParams,
  visit: (g: number, s: number, inv: number, z: number, i: number) => void,
): void {
  const { start, count, stride } = layout;
  for (let g = 0; g < layout.numGroups; g++) {
    const s = qp.scale[g];
    const inv = fr(1 / s);
    const z = qp.zeroPoint[g];
    for (let k = 0, i = start[g]; k < count[g]; k++, i += stride) visit(g, s, inv, z, i);
  }
}

// ---------------------------------------------------------------------------------------------
// Group statistics

/**
 * Per-group min and max of x (exact: comparisons only).
 * @param x (..., C) f32; NaN is a ValueError
 * @returns min, max, each (numGroups)
 */
export function groupMinMax(x: Tensor, layout: GroupLayout): { min: Float32Array; max: Float32Array } {
  const where = 'groupMinMax';
  if (x.dtype !== 'f32') throw new DTypeError(where, `x must be f32, got ${x.dtype}`);
  layoutOf(where, x, layout);
  const X = x.data as Float32Array;
  const min = new Float32Array(layout.numGroups);
  const max = new Float32Array(layout.numGroups);
  const { start, count, stride } = layout;
  for (let g = 0; g < layout.numGroups; g++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0, i = start[g]; k < count[g]; k++, i += stride) {
      const v = X[i];
      if (v !== v) throw new ValueError(where, `x[${i}] is NaN`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    min[g] = lo;
    max[g] = hi;
  }
  return { min, max };
}

// ---------------------------------------------------------------------------------------------
// One-call helpers: what RTN does to a tensor

/** Settings of one quantizer: bit type, rule, granularity's layout, convention. */
export interface QuantizerSpec {
  readonly range: BitType;
  readonly rule: ScaleRule;
  readonly convention: Convention;
}

/**
 * Round-to-nearest fake quantization with parameters taken from x itself (data-free weights,
 * dynamic per-token activations).
 * @param x (..., C)
 * @returns x̂ (..., C) and the parameters used
 */
export function fakeQuantizeMinMax(
  x: Tensor,
  layout: GroupLayout | Parameters<typeof groupLayout>[1],
  spec: QuantizerSpec,
): { xq: Tensor<'f32'>; qparams: QParams; layout: GroupLayout } {
  const lay = 'numGroups' in layout ? layout : groupLayout(x.shape, layout);
  const { min, max } = groupMinMax(x, lay);
  const qparams = chooseQParams(min, max, spec.range, spec.rule);
  return { xq: fakeQuantize(x, qparams, lay, spec.range, spec.convention), qparams, layout: lay };
}
