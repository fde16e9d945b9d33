/**
 * Reference semantics for the int8 GEMM family (`gemm_i8i8_f32__*`): quantized activations
 * times int8 weights, exact int32 accumulation, one fixed float32 epilogue.
 * Integers are exact (JS numbers hold them well under 2^53); float32 via Math.fround.
 * Never optimized: speed lives in ./gemm.ts. This file IS the definition the kernel must equal
 * bit for bit.
 *
 * ## Definition
 *
 *   A   (M, K) int8 or uint8 codes, row-major; scale sA and zero point zA per tensor or per row
 *   W   (N, K) int8 codes (PyTorch Linear layout, out x in); scale sW[n], optional zero point zW[n]
 *
 *   c[m,n] = Σ_k (A[m,k] − zA[m]) · (W[n,k] − zW[n])                         exact integer
 *          = acc − zA·rowsumW[n] − zW[n]·rowsumA[m] + K·zA·zW[n]            (same integer)
 *     with acc = Σ_k A[m,k]·W[n,k], rowsumW[n] = Σ_k W[n,k], rowsumA[m] = Σ_k A[m,k].
 *
 * ## Epilogue, in this float32 order (f = round to float32, nearest-even)
 *
 *   s[m,n] = f(sA[m] · sW[n])
 *   y[m,n] = f(f(c[m,n]) · s[m,n])                 int32 -> f32 is itself a rounding above 2^24
 *   y[m,n] = f(y[m,n] + bias[n])                   only when a bias is given (no "+0" otherwise,
 *                                                  so a -0 product stays -0)
 *
 * This is ONNX Runtime's MatMulIntegerToFloat order (multiplier = a_scale·b_scale, then
 * acc·multiplier + bias). There is no fused multiply-add anywhere.
 *
 * ## Range contract
 *
 *   |A − zA| ≤ 255 and |W − zW| ≤ 255, so |c| ≤ K·255² < 2^31 for K ≤ MAX_K_I8 = 32768; the kernel
 *   computes in wrapping i32 and is exact because the final integer fits.
 */
import { ShapeError, ValueError, DTypeError } from '../../errors.js';

/** Largest K the int8 kernels accept: 32768 · 255² = 2 130 739 200 < 2^31 − 1. */
export const MAX_K_I8 = 32768;

/**
 * Quantized activations: codes plus their affine parameters.
 * Dequantized value: sA[m] · (data[m,k] − zA[m]).
 */
export interface QuantizedActivations {
  /** (M, K) row-major codes. Int8Array for int8, Uint8Array for uint8 activations. */
  readonly data: Int8Array | Uint8Array;
  readonly M: number;
  readonly K: number;
  /** float32 scales: length 1 (per tensor) or M (per row / per token). */
  readonly scales: Float32Array;
  /** Zero points, same length as `scales`, in the code range; null means 0 (symmetric). */
  readonly zeros: Int32Array | null;
}

/** Int8 weights in PyTorch Linear layout, symmetric or with per-channel zero points. */
export interface Int8Weights {
  /** (N, K) row-major int8 codes: row n is output channel n. */
  readonly data: Int8Array;
  readonly N: number;
  readonly K: number;
  /** (N) float32 per-output-channel scales. */
  readonly scales: Float32Array;
  /** (N) zero points in [-128, 127], or null for symmetric weights. */
  readonly zeros: Int32Array | null;
}

function checkDim(where: string, name: string, v: number, max = 2 ** 30): void {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new ShapeError(where, `${name} must be an integer in [1, ${max}], got ${v}`);
  }
}

export function checkFiniteArray(where: string, name: string, x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new ValueError(where, `${name}[${i}] is ${x[i]}, expected a finite float32`);
  }
}

/** Check the activation record: shapes, scale count, zero points in the code range, finite scales. */
export function checkActivations(where: string, a: QuantizedActivations): void {
  checkDim(where, 'A.M', a.M);
  checkDim(where, 'A.K', a.K, MAX_K_I8);
  if (!(a.data instanceof Int8Array) && !(a.data instanceof Uint8Array)) {
    throw new DTypeError(where, `A.data must be an Int8Array or Uint8Array`);
  }
  if (a.data.length !== a.M * a.K) {
    throw new ShapeError(where, `A.data has ${a.data.length} codes, expected M·K = ${a.M}·${a.K}`);
  }
  if (a.scales.length !== 1 && a.scales.length !== a.M) {
    throw new ShapeError(where, `A.scales has length ${a.scales.length}, expected 1 (per tensor) or M = ${a.M} (per row)`);
  }
  checkFiniteArray(where, 'A.scales', a.scales);
  if (a.zeros !== null) {
    if (a.zeros.length !== a.scales.length) {
      throw new ShapeError(where, `A.zeros has length ${a.zeros.length}, expected ${a.scales.length} (as A.scales)`);
    }
    const [lo, hi] = a.data instanceof Int8Array ? [-128, 127] : [0, 255];
    for (let i = 0; i < a.zeros.length; i++) {
      const z = a.zeros[i];
      if (!Number.isInteger(z) || z < lo || z > hi) {
        throw new ValueError(where, `A.zeros[${i}] = ${z} outside the code range [${lo}, ${hi}]`);
      }
    }
  }
}

/** Check the int8 weight record: shapes, finite scales, zero points in [-128, 127]. */
export function checkInt8Weights(where: string, w: Int8Weights): void {
  checkDim(where, 'W.N', w.N);
  checkDim(where, 'W.K', w.K, MAX_K_I8);
  if (!(w.data instanceof Int8Array)) throw new DTypeError(where, `W.data must be an Int8Array`);
  if (w.data.length !== w.N * w.K) {
    throw new ShapeError(where, `W.data has ${w.data.length} codes, expected N·K = ${w.N}·${w.K}`);
  }
  if (w.scales.length !== w.N) throw new ShapeError(where, `W.scales has length ${w.scales.length}, expected N = ${w.N}`);
  checkFiniteArray(where, 'W.scales', w.scales);
  if (w.zeros !== null) {
    if (w.zeros.length !== w.N) throw new ShapeError(where, `W.zeros has length ${w.zeros.length}, expected N = ${w.N}`);
    for (let i = 0; i < w.N; i++) {
      const z = w.zeros[i];
      if (!Number.isInteger(z) || z < -128 || z > 127) {
        throw new ValueError(where, `W.zeros[${i}] = ${z} outside [-128, 127]`);
      }
    }
  }
}

/** Check bias (N) and out (M·N) lengths and bias finiteness. */
export function checkBiasOut(where: string, M: number, N: number, bias: Float32Array | null, out: Float32Array): void {
  if (bias !== null) {
    if (bias.length !== N) throw new ShapeError(where, `bias has length ${bias.length}, expected N = ${N}`);
    checkFiniteArray(where, 'bias', bias);
  }
  if (out.length !== M * N) throw new ShapeError(where, `out has length ${out.length}, expected M·N = ${M}·${N}`);
}

/** rowsumW[n] = Σ_k W[n,k]; precomputed once at pack time. @param w (N, K) */
export function rowSumsI8(data: Int8Array | Uint8Array, rows: number, K: number): Int32Array {
  const s = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let t = 0;
    for (let k = 0; k < K; k++) t += data[r * K + k];
    s[r] = t;
  }
  return s;
}

/**
 * The integer part: c[m,n] = Σ_k (A[m,k] − zA[m])·(W[n,k] − zW[n]), computed the way the
 * epilogue formula reads (acc minus the zero-point corrections). Equals ONNX MatMulInteger
 * with B = Wᵀ.
 * @returns (M, N) int32
 */
export function integerPartI8Ref(a: QuantizedActivations, w: Int8Weights): Int32Array {
  const where = 'integerPartI8Ref';
  checkActivations(where, a);
  checkInt8Weights(where, w);
  if (a.K !== w.K) throw new ShapeError(where, `A is (${a.M}, ${a.K}) but W is (${w.N}, ${w.K}): K differs`);
  const { M, K } = a;
  const N = w.N;
  const rowsumW = rowSumsI8(w.data, N, K);
  const rowsumA = rowSumsI8(a.data, M, K);
  const c = new Int32Array(M * N);
  for (let m = 0; m < M; m++) {
    const zA = a.zeros === null ? 0 : a.zeros[a.zeros.length === 1 ? 0 : m];
    for (let n = 0; n < N; n++) {
      const zW = w.zeros === null ? 0 : w.zeros[n];
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a.data[m * K + k] * w.data[n * K + k];
      c[m * N + n] = acc - zA * rowsumW[n] - zW * rowsumA[m] + K * zA * zW;
    }
  }
  return c;
}

/**
 * y = dequant(A) · dequant(W)ᵀ + bias with the epilogue order stated in the file header.
 * @param a (M, K) quantized activations
 * @param w (N, K) int8 weights
 * @param bias (N) or null
 * @param out (M, N) float32, overwritten
 */
export function gemmI8Ref(a: QuantizedActivations, w: Int8Weights, bias: Float32Array | null, out: Float32Array): void {
  const where = 'gemmI8Ref';
  checkBiasOut(where, a.M, w.N, bias, out);
  const c = integerPartI8Ref(a, w);
  const fr = Math.fround;
  const { M } = a;
  const N = w.N;
  for (let m = 0; m < M; m++) {
    const sA = a.scales[a.scales.length === 1 ? 0 : m];
    for (let n = 0; n < N; n++) {
      const s = fr(sA * w.scales[n]);
      let y = fr(fr(c[m * N + n]) * s);
      if (bias !== null) y = fr(y + bias[n]);
      out[m * N + n] = y;
    }
  }
}
