/**
 * Packed panel layout of 4-bit weights, shared by the W4A8 kernel
 * (`gemm_i8i4_f32__mr4_nr8_kc4__simd128_dot16`) and the W4A16 kernel
 * (`gemm_f32i4_f32__mr4_nr8__simd128`): one packing serves both. The logical layout
 * (`Int4Weights`, nibbles over n·K + k) is defined in ./ref.ts; this file turns it into panels.
 *
 *   N -> P = ceil(N/8) panels of 8 columns; K -> nG = ceil(K/G) groups; each group padded to
 *   Gp = roundup(G, 4) codes = CH = Gp/4 chunks of 4 k. Panel p is nG group blocks of
 *   BG = 48 + 16·CH bytes:
 *
 *     [ 0, 16)  zero points as bytes: byte 2c + t = z[8p + c, g]   (i4 weights: 8; past N: 0)
 *     [16, 48)  scales f32: s[8p + c, g]                            (past N: 0)
 *     [48, BG)  chunk j (k0 = g·G + 4j), 16 bytes: byte 2c + t holds
 *                 low nibble  = u[8p + c, k0 + t]
 *                 high nibble = u[8p + c, k0 + 2 + t]
 *               u = the u4 code (i4 codes are stored as u4 = i4 XOR 8 with zero point 8, so
 *               q − z is the same integer); positions past the group or past K hold z (so q − z = 0).
 *
 * Unpacking in the kernel: v & 0x0F − z gives k-pair (k0, k0+1) of the 8 columns interleaved
 * [c0k0 c0k1 c1k0 …], v >> 4 − z the pair (k0+2, k0+3); both in [−15, 15] as i8, then
 * sign-extended to i16 for dot_i16x8_s (W4A8) or de-interleaved to f32 rows (W4A16).
 *
 * Bytes: 4-bit codes cost 1/2 byte each (chunk bytes = 8·Gp/2 per group of a panel), plus
 * 48 bytes of zero points and scales per (panel, group).
 */
import { getNibble } from '../../dtype.js';
import { checkInt4Weights, groupCount, type Int4Weights } from './ref.js';

export const I4_NR = 8;
export const I4_HEAD_BYTES = 48;

export interface I4PanelDims {
  readonly N: number;
  readonly K: number;
  readonly G: number;
  /** groups = ceil(K/G) */
  readonly nG: number;
  /** padded group = roundup(G, 4) */
  readonly Gp: number;
  /** chunks of 4 k per group = Gp/4 */
  readonly CH: number;
  /** bytes per (panel, group) block = 48 + 16·CH */
  readonly BG: number;
  /** panels = ceil(N/8) */
  readonly P: number;
}

export function i4PanelDims(N: number, K: number, G: number): I4PanelDims {
  const nG = groupCount(K, G);
  const Gp = Math.ceil(G / 4) * 4;
  const CH = Gp / 4;
  return { N, K, G, nG, Gp, CH, BG: I4_HEAD_BYTES + 16 * CH, P: Math.ceil(N / I4_NR) };
}

/** Total packed bytes: P·nG·(48 + 16·CH) (the formula pinned by a unit test). */
export function i4PanelBytes(N: number, K: number, G: number): number {
  const d = i4PanelDims(N, K, G);
  return d.P * d.nG * d.BG;
}

/** Pack `Int4Weights` into panels (host bytes). */
export function packI4Host(w: Int4Weights): { dims: I4PanelDims; bytes: Uint8Array } {
  checkInt4Weights('packI4', w);
  const d = i4PanelDims(w.N, w.K, w.groupSize);
  const { N, K, G, nG, CH, BG, P } = d;
  const bytes = new Uint8Array(P * nG * BG);
  const f32 = new Float32Array(bytes.buffer);
  for (let n = 0; n < N; n++) {
    const p = n >> 3;
    const c = n & 7;
    for (let g = 0; g < nG; g++) {
      const blk = (p * nG + g) * BG;
      const z = w.signed ? 8 : (w.zeros as Uint8Array)[n * nG + g];
      bytes[blk + 2 * c] = z;
      bytes[blk + 2 * c + 1] = z;
      f32[(blk + 16) / 4 + c] = w.scales[n * nG + g];
      const len = Math.min(G, K - g * G);
      for (let j = 0; j < CH; j++) {
        for (let t = 0; t < 2; t++) {
          const code = (kk: number): number => {
            if (kk >= len) return z;
            const q = getNibble(w.codes, n * K + g * G + kk, false);
            return w.signed ? q ^ 8 : q;
          };
          const lo = code(4 * j + t);
          const hi = code(4 * j + 2 + t);
          bytes[blk + I4_HEAD_BYTES + 16 * j + 2 * c + t] = lo | (hi << 4);
        }
      }
    }
  }
  return { dims: d, bytes };
}

/**
 * The exact integers wq[n,k] = q − z and scales back from packed bytes (tests, validation).
 * @returns wq (N, K) Int8Array and scales (N, nG)
 */
export function unpackI4Host(d: I4PanelDims, bytes: Uint8Array): { wq: Int8Array; scales: Float32Array } {
  const { N, K, G, nG, BG } = d;
  const wq = new Int8Array(N * K);
  const scales = new Float32Array(N * nG);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let n = 0; n < N; n++) {
    const p = n >> 3;
    const c = n & 7;
    for (let g = 0; g < nG; g++) {
      const blk = (p * nG + g) * BG;
      const z = bytes[blk + 2 * c];
      scales[n * nG + g] = dv.getFloat32(blk + 16 + 4 * c, true);
      const len = Math.min(G, K - g * G);
      for (let kk = 0; kk < len; kk++) {
        const j = kk >> 2;
        const t = kk & 1;
        const b = bytes[blk + I4_HEAD_BYTES + 16 * j + 2 * c + t];
        const u = kk & 2 ? b >> 4 : b & 0xf;
        wq[n * K + g * G + kk] = u - z;
      }
    }
  }
  return { wq, scales };
}
