/**
 * Reference semantics for the 4-bit weight GEMM family: W4A16 (`gemm_w4f32_f32__*`, float32
 * activations) and W4A8 (`gemm_w4i8_f32__*`, int8/uint8 activations). Integers exact,
 * float32 via Math.fround, every sum in the order written below. Never optimized: speed lives
 * in ./gemm.ts. This file IS the definition the kernels must equal bit for bit.
 *
 * ## Weight layout (`Int4Weights`)
 *
 *   codes   (N, K) 4-bit codes packed two per byte over the flat index i = n·K + k, low nibble =
 *           even index (src/tensor/dtype.ts getNibble/setNibble; rows straddle bytes when K is odd)
 *   groups  along K: group g of row n covers k ∈ [g·G, min((g+1)·G, K)); nGroups = ceil(K/G), the
 *           last group is short when G ∤ K
 *   scales  (N, nGroups) float32
 *   zeros   (N, nGroups) u4 zero points (one per byte, values 0..15) when `signed` is false;
 *           null when `signed` is true (i4 two's complement codes, symmetric, zero point 0)
 *
 *   wq[n,k] = q[n,k] − z[n,g]   (u4)     or   q[n,k]  (i4)              exact integer in [−15, 15]
 *   w[n,k]  = f(s[n,g] · wq[n,k])                                        the dequantized weight
 *
 * Relation to ONNX MatMulNBits (bits=4, block_size=G): its B is [N][nGroups][G/2] bytes, low nibble
 * first along k, so it is our codes re-blocked per row; our i4 codes are MatMulNBits u4 codes
 * XOR 8 with its default zero point 8.
 *
 * ## W4A16: y = x · wᵀ (+ bias)
 *
 *   acc = +0;  for k = 0, 1, …, K−1:  acc = f(acc + f(x[m,k] · w[n,k]))
 *   y[m,n] = acc,   then y = f(y + bias[n]) when a bias is given
 *
 * ## W4A8: y = dequant(A) · wᵀ (+ bias)
 *
 *   c[m,n,g] = Σ_{k in group g} (A[m,k] − zA[m]) · wq[n,k]          exact integer (|c| ≤ G·255·15)
 *   acc = +0;  for g = 0, 1, …, nGroups−1:  acc = f(acc + f(f(c[m,n,g]) · s[n,g]))
 *   y[m,n] = f(acc · sA[m]),   then y = f(y + bias[n]) when a bias is given
 */
import { getNibble } from '../../dtype.js';
import { DTypeError, ShapeError, ValueError } from '../../errors.js';
import {
  MAX_K_I8,
  checkActivations,
  checkBiasOut,
  checkFiniteArray,
  type QuantizedActivations,
} from '../int8/ref.js';

/** Group-wise 4-bit weights in PyTorch Linear layout (see the file header for the byte layout). */
export interface Int4Weights {
  readonly N: number;
  readonly K: number;
  /** Group size along K (≥ 2, even). */
  readonly groupSize: number;
  /** i4 two's-complement codes with zero point 0 (true), or u4 codes with `zeros` (false). */
  readonly signed: boolean;
  /** ceil(N·K/2) bytes: code of (n, k) is nibble n·K + k, low nibble = even index. */
  readonly codes: Uint8Array;
  /** (N, nGroups) float32 scales. */
  readonly scales: Float32Array;
  /** (N, nGroups) u4 zero points (0..15, one per byte) when unsigned; null when signed. */
  readonly zeros: Uint8Array | null;
}

export function groupCount(K: number, groupSize: number): number {
  return Math.ceil(K / groupSize);
}

/** Check the 4-bit weight record: dims, group size, byte counts, zero-point presence and range. */
export function checkInt4Weights(where: string, w: Int4Weights): void {
  for (const [name, v, max] of [
    ['W.N', w.N, 2 ** 30],
    ['W.K', w.K, MAX_K_I8],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new ShapeError(where, `${name} must be an integer in [1, ${max}], got ${v}`);
  }
  const G = w.groupSize;
  if (!Number.isInteger(G) || G < 2 || G % 2 !== 0 || G > MAX_K_I8) {
    throw new ValueError(where, `groupSize must be an even integer in [2, ${MAX_K_I8}], got ${G}`);
  }
  if (!(w.codes instanceof Uint8Array)) throw new DTypeError(where, 'W.codes must be a Uint8Array of packed nibbles');
  const nb = Math.ceil((w.N * w.K) / 2);
  if (w.codes.length !== nb) throw new ShapeError(where, `W.codes has ${w.codes.length} bytes, expected ceil(N·K/2) = ${nb} for N=${w.N}, K=${w.K}`);
  const ng = groupCount(w.K, G);
  if (w.scales.length !== w.N * ng) {
    throw new ShapeError(where, `W.scales has length ${w.scales.length}, expected N·nGroups = ${w.N}·${ng} (K=${w.K}, G=${G})`);
  }
  checkFiniteArray(where, 'W.scales', w.scales);
  if (w.signed) {
    if (w.zeros !== null) throw new ValueError(where, 'signed (i4) weights are symmetric: zeros must be null');
  } else {
    if (w.zeros === null) throw new ValueError(where, 'unsigned (u4) weights need zeros (N, nGroups)');
    if (w.zeros.length !== w.N * ng) throw new ShapeError(where, `W.zeros has length ${w.zeros.length}, expected N·nGroups = ${w.N}·${ng}`);
    for (let i = 0; i < w.zeros.length; i++) {
      if (w.zeros[i] > 15) throw new ValueError(where, `W.zeros[${i}] = ${w.zeros[i]} outside [0, 15]`);
    }
  }
}

/** wq[n,k] = q − z (u4) or q (i4): the exact integer weight before scaling. */
export function int4Code(w: Int4Weights, n: number, k: number): number {
  const q = getNibble(w.codes, n * w.K + k, w.signed);
  if (w.signed) return q;
  const g = Math.floor(k / w.groupSize);
  return q - (w.zeros as Uint8Array)[n * groupCount(w.K, w.groupSize) + g];
}

/** w[n,k] = f(s[n,g] · wq[n,k]). @returns (N, K) float32 */
export function dequantizeInt4Ref(w: Int4Weights): Float32Array {
  checkInt4Weights('dequantizeInt4Ref', w);
  const { N, K, groupSize: G } = w;
  const ng = groupCount(K, G);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) out[n * K + k] = Math.fround(w.scales[n * ng + Math.floor(k / G)] * int4Code(w, n, k));
  }
  return out;
}

/**
 * W4A16: y = x · wᵀ (+ bias), k ascending in one float32 accumulator (file header).
 * @param x (M, K) float32 activations
 * @param w (N, K) 4-bit weights
 * @param bias (N) or null
 * @param out (M, N) float32, overwritten
 */
export function gemmW4A16Ref(M: number, x: Float32Array, w: Int4Weights, bias: Float32Array | null, out: Float32Array): void {
  const where = 'gemmW4A16Ref';
  checkInt4Weights(where, w);
  const { N, K } = w;
  if (!Number.isInteger(M) || M < 1) throw new ShapeError(where, `M must be a positive integer, got ${M}`);
  if (x.length !== M * K) throw new ShapeError(where, `x has length ${x.length}, expected M·K = ${M}·${K}`);
  checkBiasOut(where, M, N, bias, out);
  const wd = dequantizeInt4Ref(w);
  const fr = Math.fround;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = fr(acc + fr(x[m * K + k] * wd[n * K + k]));
      out[m * N + n] = bias === null ? acc : fr(acc + bias[n]);
    }
  }
}

/**
 * W4A8 integer part: c[m,n,g] = Σ_{k∈g} (A[m,k] − zA[m])·wq[n,k].
 * @returns (M, N, nGroups) int32
 */
export function groupDotsW4A8Ref(a: QuantizedActivations, w: Int4Weights): Int32Array {
  const where = 'groupDotsW4A8Ref';
  checkActivations(where, a);
  checkInt4Weights(where, w);
  if (a.K !== w.K) throw new ShapeError(where, `A is (${a.M}, ${a.K}) but W is (${w.N}, ${w.K}): K differs`);
  const { M, K } = a;
  const { N, groupSize: G } = w;
  const ng = groupCount(K, G);
  const c = new Int32Array(M * N * ng);
  for (let m = 0; m < M; m++) {
    const zA = a.zeros === null ? 0 : a.zeros[a.zeros.length === 1 ? 0 : m];
    for (let n = 0; n < N; n++) {
      for (let g = 0; g < ng; g++) {
        let t = 0;
        for (let k = g * G; k < Math.min(K, (g + 1) * G); k++) t += (a.data[m * K + k] - zA) * int4Code(w, n, k);
        c[(m * N + n) * ng + g] = t;
      }
    }
  }
  return c;
}

/**
 * W4A8: y = dequant(A) · wᵀ (+ bias), groups ascending in one float32 accumulator (file header).
 * @param a (M, K) quantized activations (int8 or uint8, per tensor or per row)
 * @param w (N, K) 4-bit weights
 * @param bias (N) or null
 * @param out (M, N) float32, overwritten
 */
export function gemmW4A8Ref(a: QuantizedActivations, w: Int4Weights, bias: Float32Array | null, out: Float32Array): void {
  const where = 'gemmW4A8Ref';
  checkBiasOut(where, a.M, w.N, bias, out);
  const c = groupDotsW4A8Ref(a, w);
  const fr = Math.fround;
  const { M } = a;
  const { N } = w;
  const ng = groupCount(w.K, w.groupSize);
  for (let m = 0; m < M; m++) {
    const sA = a.scales[a.scales.length === 1 ? 0 : m];
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let g = 0; g < ng; g++) acc = fr(acc + fr(fr(c[(m * N + n) * ng + g]) * w.scales[n * ng + g]));
      let y = fr(acc * sA);
      if (bias !== null) y = fr(y + bias[n]);
      out[m * N + n] = y;
    }
  }
}
