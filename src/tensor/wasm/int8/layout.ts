/**
 * Memory layouts of the int8 GEMM kernels (`gemm_i8i8_f32__mr4_nr8_kc2__simd128_dot16`) and of
 * the activation widening they share with the 4-bit W4A8 kernel. Host-side packing in plain
 * TypeScript; the layouts are declared here once and the emitters address them by these
 * constants.
 *
 * ## Weight panels (packed once, at load)
 *
 *   N columns (output channels) -> P = ceil(N/8) panels of NR = 8 columns; K -> KP = ceil(K/2)
 *   k-pairs. Panel p is KP·16·wb bytes, wb = bytes per weight code (spec tile `wb`, 1 or 2).
 *   Element e = 2c + t of k-pair j (c = 0..7 column, t = 0..1) is
 *
 *     wb = 1 (int8):  W[8p + c, 2j + t]                   (0 past N or K)
 *     wb = 2 (int16): W[8p + c, 2j + t] − zW[8p + c]      (zero point folded in, exact: ∈ [−255, 255])
 *
 *   i.e. [c0k0 c0k1 c1k0 c1k1 … c7k0 c7k1]. The wb = 1 kernel loads the 16 bytes once and
 *   sign-extends them to two i16x8 vectors (columns 0-3 and 4-7, k-pairs interleaved); the
 *   wb = 2 kernel loads the two vectors directly (twice the bytes, no extends: the faster one
 *   on x86, where the extends compete with the dots for the vector ports). Either way one
 *   `i32x4.dot_i16x8_s` against a broadcast activation pair gives 4 columns × 2 k.
 *   Epilogue arrays are padded to P·8: scales f32, zero points i32 (wb = 1 only, when W has them).
 *
 * ## Widened activations (per call)
 *
 *   A (M, K) int8/uint8 -> A16 tiles: M -> T = ceil(M/4) tiles of MR = 4 rows; K split into
 *   groups of G (G = K for plain int8), each group padded to Gp (even) codes, KP = nG·Gp/2
 *   pairs per row. The i32 at byte offset ((t·KP + j)·4 + r)·4 holds the i16 pair
 *
 *     (A[4t+r, k0] − zA[4t+r], A[4t+r, k0+1] − zA[4t+r]),   k0 = g·G + 2·(j − g·Gp/2)
 *
 *   with the second code of a group's odd last pair 0. Pairs past a group's end (padding to Gp)
 *   and rows past M are NOT written: they hold stale heap bytes, which is harmless because they
 *   only ever meet zero weights (panel padding is 0; 4-bit padding is q = z) or feed outputs
 *   that are never stored; integer products cannot trap.
 *
 *   Folding zA into the widening is exact (A − zA ∈ [−255, 255] fits i16; a dot_i16x8_s lane
 *   sums two products of at most 255·255, and the K-sum is bounded by MAX_K_I8 in ref.ts), so no
 *   zA·rowsumW correction is needed; uint8 codes are zero-extended (i16x8.extend_*_u) before the
 *   subtraction. With int8 panels (wb = 1) and zero points on W the kernel subtracts
 *   zW[n]·Σ_k (A − zA)[m, k], the row sums the widening pass also writes.
 */
import { type Int8Weights, checkInt8Weights, rowSumsI8 } from './ref.js';

export const I8_MR = 4;
export const I8_NR = 8;

/** Bytes per weight code in the panels: 1 (int8 panels) or 2 (int16 panels, zW folded in). */
export type PanelBytes = 1 | 2;

export interface I8PanelDims {
  readonly N: number;
  readonly K: number;
  /** k-pairs = ceil(K/2) */
  readonly KP: number;
  /** panels = ceil(N/8) */
  readonly P: number;
  readonly wb: PanelBytes;
}

export function i8PanelDims(N: number, K: number, wb: PanelBytes): I8PanelDims {
  return { N, K, KP: Math.ceil(K / 2), P: Math.ceil(N / I8_NR), wb };
}

/** Bytes of one k-pair of one panel: 8 columns × 2 k × wb. */
export function pairBytes(wb: PanelBytes): number {
  return I8_NR * 2 * wb;
}

/** Panel bytes: P·KP·16·wb (the formula pinned by a unit test). */
export function i8PanelBytes(N: number, K: number, wb: PanelBytes): number {
  const d = i8PanelDims(N, K, wb);
  return d.P * d.KP * pairBytes(wb);
}

/** Host-side packed int8 weights: panels plus padded epilogue arrays. */
export interface HostPackedI8 extends I8PanelDims {
  readonly panels: Int8Array | Int16Array;
  /** (P·8) f32 scales, 0 past N */
  readonly scales: Float32Array;
  /** (P·8) i32 zero points, 0 past N; null for symmetric weights (folded into wb = 2 panels) */
  readonly zeros: Int32Array | null;
  /** (N) Σ_k W[n,k]: not used by the kernel (zA is folded into A16) but kept for callers. */
  readonly rowSums: Int32Array;
}

/** Pack (N, K) int8 weights into 8-column k-pair panels of `wb` bytes per code. */
export function packI8Host(w: Int8Weights, wb: PanelBytes): HostPackedI8 {
  checkInt8Weights('packI8', w);
  const d = i8PanelDims(w.N, w.K, wb);
  const { N, K, KP, P } = d;
  const E = I8_NR * 2; // elements per k-pair
  const panels = wb === 1 ? new Int8Array(P * KP * E) : new Int16Array(P * KP * E);
  for (let n = 0; n < N; n++) {
    const base = (n >> 3) * KP * E + 2 * (n & 7);
    const z = wb === 2 && w.zeros !== null ? w.zeros[n] : 0;
    for (let k = 0; k < K; k++) panels[base + (k >> 1) * E + (k & 1)] = w.data[n * K + k] - z;
  }
  const scales = new Float32Array(P * I8_NR);
  scales.set(w.scales);
  let zeros: Int32Array | null = null;
  if (w.zeros !== null) {
    zeros = new Int32Array(P * I8_NR);
    zeros.set(w.zeros);
  }
  return { ...d, panels, scales, zeros, rowSums: rowSumsI8(w.data, N, K) };
}

/** Inverse of packI8Host (tests, QWM_VALIDATE): the (N, K) codes back from the panels. */
export function unpackI8Host(p: HostPackedI8): Int8Array {
  const { N, K, KP } = p;
  const E = I8_NR * 2;
  const out = new Int8Array(N * K);
  for (let n = 0; n < N; n++) {
    const base = (n >> 3) * KP * E + 2 * (n & 7);
    const z = p.wb === 2 && p.zeros !== null ? p.zeros[n] : 0;
    for (let k = 0; k < K; k++) out[n * K + k] = p.panels[base + (k >> 1) * E + (k & 1)] + z;
  }
  return out;
}

/** Bytes of the widened activation buffer for M rows and KP pairs per row. */
export function a16Bytes(M: number, KP: number): number {
  return Math.ceil(M / I8_MR) * KP * I8_MR * 4;
}
