/**
 * Reference semantics for the activation quantizer kernel `quant_rows_f32_i8__kc16__simd128`
 * (./quantize.ts): the TypeScript twin the catalog requires. float32 via Math.fround, integers
 * exact. Never optimized: speed lives in ./quantize.ts.
 *
 * The quantization formula's home is `quantizeValue` of src/quant/affine.ts (tensor/ may not
 * import quant/); this twin restates its half-to-even conventions for the kernel, and
 * test/tensor/wasm/int8-quantize.test.ts holds kernel == twin == quantizeValue on exact ties.
 *
 *   t = f(x / s)              scaleOp 'div' (onnx, quantwm-uniform)
 *     = f(x · inv), inv = f(1/s)   scaleOp 'mul-recip' (torch)
 *   q = f(roundEven(t) + z)   zeroPoint 'post-round' (onnx, torch)
 *     = roundEven(f(t + z))   zeroPoint 'pre-round' (quantwm-uniform)
 *   code = clamp(q, qmin, qmax)     ±Infinity clamp to the range ends; NaN is a ValueError
 */
import { ShapeError, ValueError } from '../../errors.js';
import type { CodeFormula } from './quantize.js';

const fr = Math.fround;

/** Round half to even (a tie goes to the even neighbour); keeps -0 and passes ±Infinity through. */
export function roundEvenRef(t: number): number {
  if (!Number.isFinite(t)) return t;
  const f = Math.floor(t);
  const d = t - f; // exact for float32 inputs (and for every double below 2^52)
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 && (t < 0 || Object.is(t, -0)) ? -0 : r;
}

/** The code of one value (file header). `inv` must be f(1/s) (used by 'mul-recip' only). */
export function quantizeCodeRef(x: number, s: number, inv: number, z: number, f: CodeFormula): number {
  const t = f.scaleOp === 'div' ? fr(x / s) : fr(x * inv);
  const q = f.zeroPoint === 'post-round' ? fr(roundEvenRef(t) + z) : roundEvenRef(fr(t + z));
  return q < f.qmin ? f.qmin : q > f.qmax ? f.qmax : q;
}

/**
 * codes[m,k] = quantizeCodeRef(x[m,k], s, f(1/s), z) with (s, z) per row (length M) or per
 * tensor (length 1). Parameters are checked by the caller (quantizeRowsI8).
 * @param x (M, K) float32
 * @param out (M, K) Int8Array or Uint8Array, overwritten
 * @throws ValueError naming the first NaN
 */
export function quantizeRowsRef(
  x: Float32Array, M: number, K: number, scale: Float32Array, zero: Float32Array, f: CodeFormula, out: Int8Array | Uint8Array,
): void {
  const where = 'quantizeRowsRef';
  if (x.length !== M * K || out.length !== M * K) throw new ShapeError(where, `x has ${x.length} and out ${out.length} elements, expected M·K = ${M}·${K}`);
  for (let m = 0; m < M; m++) {
    const g = scale.length === 1 ? 0 : m;
    const s = scale[g];
    const inv = fr(1 / s);
    for (let k = 0; k < K; k++) {
      const v = x[m * K + k];
      if (v !== v) throw new ValueError(where, `x[${m * K + k}] (row ${m}) is NaN`);
      out[m * K + k] = quantizeCodeRef(v, s, inv, zero[g], f);
    }
  }
}
