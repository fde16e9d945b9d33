/**
 * Reference semantics for the per-axis taps of torch 1.13 `interpolate` (CPU, float32):
 * which input indices each output index reads and with which float32 weights.
 *
 * The formulas follow ATen 1.13 (UpSample.h, cpu/UpSampleKernel.cpp) with their C++ type
 * promotions: source indices are computed in double (`acc_type<float>`), weights in float32.
 * x86-64 builds of torch compile these kernels with AVX2 + FMA, and GCC contracts `a * b + c`
 * into a fused multiply-add; `fma32` below reproduces the contractions found in torch 1.13's
 * binary, so the taps are bit-identical to the AVX2 build (checked tap by tap against one-hot
 * probes of the Debian torch 1.13 wheel). A build without FMA differs by an ulp here and there,
 * which the tests' derived bounds cover. Never optimized: speed lives in ../wasm.
 */
import { ValueError } from '../errors.js';

const fr = Math.fround;

export type InterpMode = 'bilinear' | 'bicubic';

/**
 * Taps of one resized axis: output index o reads input indices `index[o*taps + j]` with weights
 * `weight[o*taps + j]` for j < count[o]. Indices are already clamped into [0, inSize).
 */
export interface AxisTaps {
  readonly inSize: number;
  readonly outSize: number;
  /** Row stride of `index`/`weight` (the most taps any output uses). */
  readonly taps: number;
  readonly count: Int32Array;
  readonly index: Int32Array;
  readonly weight: Float32Array;
  /**
   * How torch sums the taps. 'pair': the 2-tap linear kernel `x0*w0 + x1*w1`, contracted to
   * fma(x0, w0, x1*w1); 'chain': acc = x0*w0, then acc = fma(x_j, w_j, acc) for j >= 1.
   */
  readonly sum: 'pair' | 'chain';
}

/**
 * float32 fused multiply-add: round32(a*b + c) with a single rounding, for float32 a, b, c.
 * a*b is exact in double (24 + 24 bits); the double sum can round once more, and only a sum that
 * lands exactly on a float32 midpoint can then round the wrong way, so that case is settled with
 * the exact error term of the double sum.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = fr(s);
  const bb = s - p;
  const err = p - (s - bb) + (c - bb); // TwoSum: s + err = p + c exactly
  if (err === 0 || r === s) return r;
  const d = s - r;
  const other = r + 2 * d;
  if (fr(other) !== other || s !== r + d || (r + other) / 2 !== s) return r;
  // s is a float32 midpoint: the exact value lies on err's side of it.
  return err > 0 === d > 0 ? other : r;
}

/**
 * ATen `area_pixel_compute_scale<float>`: the source step per output step.
 * align_corners: (in-1)/(out-1) (0 when out = 1); otherwise 1/scaleFactor when a positive scale
 * factor was given, else in/out. Rounded to float32.
 */
export function areaPixelScale(inSize: number, outSize: number, alignCorners: boolean, scaleFactor?: number): number {
  if (alignCorners) return outSize > 1 ? fr((inSize - 1) / (outSize - 1)) : 0;
  if (scaleFactor !== undefined && scaleFactor > 0) return fr(1 / scaleFactor);
  return fr(inSize / outSize);
}

/**
 * ATen `area_pixel_compute_source_index<double>` with a float32 scale: `scale * dst` or
 * `scale * (dst + 0.5) - 0.5` in double (exact product; one rounding), clamped at 0 for linear.
 */
function sourceIndex(scale: number, o: number, alignCorners: boolean, cubic: boolean): number {
  if (alignCorners) return scale * o;
  const s = scale * (o + 0.5) - 0.5;
  return !cubic && s < 0 ? 0 : s;
}

function alloc(inSize: number, outSize: number, taps: number, sum: 'pair' | 'chain'): AxisTaps {
  return {
    inSize,
    outSize,
    taps,
    count: new Int32Array(outSize),
    index: new Int32Array(outSize * taps),
    weight: new Float32Array(outSize * taps),
    sum,
  };
}

/**
 * Linear taps without antialias (ATen `compute_source_index_and_lambda`): equal sizes copy;
 * otherwise i0 = trunc(real), lambda1 = float(real - i0), lambda0 = 1 - lambda1.
 */
function linearTaps(inSize: number, outSize: number, alignCorners: boolean, scaleFactor?: number): AxisTaps {
  const t = alloc(inSize, outSize, 2, 'pair');
  const scale = areaPixelScale(inSize, outSize, alignCorners, scaleFactor);
  for (let o = 0; o < outSize; o++) {
    let i0: number;
    let i1: number;
    let l0: number;
    let l1: number;
    if (outSize === inSize) {
      // Equal sizes copy, whatever the scale factor.
      i0 = o;
      i1 = o;
      l0 = 1;
      l1 = 0;
    } else {
      const real = sourceIndex(scale, o, alignCorners, false);
      i0 = Math.trunc(real);
      i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      l1 = fr(real - i0);
      l0 = fr(1 - l1);
    }
    t.count[o] = 2;
    t.index[2 * o] = i0;
    t.index[2 * o + 1] = i1;
    t.weight[2 * o] = l0;
    t.weight[2 * o + 1] = l1;
  }
  return t;
}

const A_CUBIC = -0.75; // torch's bicubic (antialias=false) constant, as OpenCV
const A_CUBIC_AA = -0.5; // torch's bicubic antialias filter constant (Keys), as PIL

/** ATen cubic_convolution1<float>: ((A+2)x - (A+3)) x x + 1, for |x| <= 1, as contracted by GCC. */
function cubicConv1(x: number): number {
  const a = A_CUBIC;
  return fr(fr(fr(fma32(a + 2, x, -(a + 3)) * x) * x) + 1);
}

/** ATen cubic_convolution2<float>: ((A x - 5A) x + 8A) x - 4A, for 1 <= |x| <= 2, as contracted by GCC. */
function cubicConv2(x: number): number {
  const a = A_CUBIC;
  return fr(fr(fma32(fma32(a, x, -5 * a), x, 8 * a) * x) - 4 * a);
}

/**
 * Bicubic taps without antialias (ATen `HelperInterpCubic::compute_indices_weights`, A = -0.75):
 * i = floorf(real), t = float(real - i), weights at i-1 .. i+2 clamped into the input.
 */
function cubicTaps(inSize: number, outSize: number, alignCorners: boolean, scaleFactor?: number): AxisTaps {
  const t = alloc(inSize, outSize, 4, 'chain');
  const scale = areaPixelScale(inSize, outSize, alignCorners, scaleFactor);
  for (let o = 0; o < outSize; o++) {
    const real = sourceIndex(scale, o, alignCorners, true);
    const i = Math.floor(fr(real)); // floorf takes a float
    const x1 = fr(real - i);
    const x2 = fr(1 - x1);
    const w = [cubicConv2(fr(x1 + 1)), cubicConv1(x1), cubicConv1(x2), cubicConv2(fr(x2 + 1))];
    t.count[o] = 4;
    for (let j = 0; j < 4; j++) {
      t.index[4 * o + j] = Math.min(Math.max(i - 1 + j, 0), inSize - 1);
      t.weight[4 * o + j] = w[j];
    }
  }
  return t;
}

/** PIL's triangle filter as ATen `HelperInterpLinear::aa_filter<float>`. */
function triangleFilter(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? fr(1 - x) : 0;
}

/** PIL's bicubic filter (a = -0.5) as ATen 1.13 `HelperInterpCubic::aa_filter<float>` (double arithmetic). */
function keysFilter(x: number): number {
  const a = A_CUBIC_AA;
  if (x < 0) x = -x;
  if (x < 1) return fr(((a + 2) * x - (a + 3)) * x * x + 1);
  if (x < 2) return fr(fr(fr(fr(x - 5) * x + 8) * x - 4) * a);
  return 0;
}

/**
 * Antialiased taps (ATen `HelperInterpBase::_compute_weights_aa`): a filter of support
 * interp/2 (1 for linear, 2 for cubic) widened by the downscale factor, centred at
 * scale*(o+0.5) in input pixel units, clipped at the borders and renormalized to sum 1.
 */
function antialiasTaps(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  scaleFactor: number | undefined,
  mode: InterpMode,
): AxisTaps {
  const interp = mode === 'bilinear' ? 2 : 4;
  const filter = mode === 'bilinear' ? triangleFilter : keysFilter;
  const scale = areaPixelScale(inSize, outSize, alignCorners, scaleFactor);
  const support = scale >= 1 ? fr(interp * 0.5 * scale) : interp * 0.5;
  const taps = Math.ceil(support) * 2 + 1;
  const t = alloc(inSize, outSize, taps, 'chain');
  const invscale = scale >= 1 ? fr(1 / scale) : 1;
  for (let o = 0; o < outSize; o++) {
    const center = fr(scale * (o + 0.5));
    const xmin = Math.max(Math.trunc(fr(center - support) + 0.5), 0);
    const xsize = Math.min(Math.trunc(fr(center + support) + 0.5), inSize) - xmin;
    const base = o * taps;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = filter(fr((fr(j + xmin - center) + 0.5) * invscale));
      t.weight[base + j] = w;
      total = fr(total + w);
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) t.weight[base + j] = fr(t.weight[base + j] / total);
    for (let j = 0; j < xsize; j++) t.index[base + j] = xmin + j;
    t.count[o] = xsize;
  }
  return t;
}

/**
 * Taps for one axis of `interpolate(..., mode, align_corners, antialias)`.
 * @param scaleFactor the user's scale factor for this axis when output size came from it
 *   (torch then steps the source by 1/scaleFactor, not in/out); undefined when a size was given.
 */
export function axisTaps(
  inSize: number,
  outSize: number,
  mode: InterpMode,
  alignCorners: boolean,
  antialias: boolean,
  scaleFactor?: number,
): AxisTaps {
  if (!Number.isInteger(inSize) || !Number.isInteger(outSize) || inSize <= 0 || outSize <= 0) {
    throw new ValueError('axisTaps', `input and output sizes must be positive integers, got ${inSize} -> ${outSize}`);
  }
  if (antialias) return antialiasTaps(inSize, outSize, alignCorners, scaleFactor, mode);
  return mode === 'bilinear'
    ? linearTaps(inSize, outSize, alignCorners, scaleFactor)
    : cubicTaps(inSize, outSize, alignCorners, scaleFactor);
}
