/**
 * Seeded generators for the integer GEMM tests: quantized activations, int8 and 4-bit weights,
 * with "extreme" modes that saturate the code ranges (-128/127/255 patterns), and the conversion
 * of our 4-bit layout to ONNX MatMulNBits' blocked layout (for the ORT oracle).
 */
import { Rng } from '../../../src/tensor/rng.js';
import { setNibble } from '../../../src/tensor/dtype.js';
import type { Int8Weights, QuantizedActivations } from '../../../src/tensor/wasm/int8/ref.js';
import { groupCount, type Int4Weights } from '../../../src/tensor/wasm/int4/ref.js';

export type Fill = 'random' | 'extreme';

function code(rng: Rng, lo: number, hi: number, fill: Fill): number {
  if (fill === 'extreme') return rng.uniform() < 0.5 ? lo : hi;
  return lo + rng.int(hi - lo + 1);
}

/** A float32 scale in [2^-12, 2^-4) with a random mantissa, sign optionally negative. */
function scale(rng: Rng, allowNegative = false): number {
  const s = Math.fround(2 ** (-12 + 8 * rng.uniform()));
  return allowNegative && rng.uniform() < 0.2 ? -s : s;
}

export interface ActOpts {
  unsigned: boolean;
  perRow: boolean;
  zeroPoints: boolean;
  fill: Fill;
}

export function genActivations(rng: Rng, M: number, K: number, o: ActOpts): QuantizedActivations {
  const [lo, hi] = o.unsigned ? [0, 255] : [-128, 127];
  const data = o.unsigned ? new Uint8Array(M * K) : new Int8Array(M * K);
  for (let i = 0; i < data.length; i++) data[i] = code(rng, lo, hi, o.fill);
  const ns = o.perRow ? M : 1;
  const scales = new Float32Array(ns).map(() => scale(rng));
  // Extreme zero points sit at the opposite end of the codes so |A − zA| reaches 255.
  const zeros = o.zeroPoints ? new Int32Array(ns).map(() => (o.fill === 'extreme' ? (rng.uniform() < 0.5 ? lo : hi) : lo + rng.int(hi - lo + 1))) : null;
  return { data, M, K, scales, zeros };
}

export function genInt8Weights(rng: Rng, N: number, K: number, zeroPoints: boolean, fill: Fill): Int8Weights {
  const data = new Int8Array(N * K);
  for (let i = 0; i < data.length; i++) data[i] = code(rng, -128, 127, fill);
  const scales = new Float32Array(N).map(() => scale(rng, true));
  const zeros = zeroPoints ? new Int32Array(N).map(() => code(rng, -128, 127, fill)) : null;
  return { data, N, K, scales, zeros };
}

export function genInt4Weights(rng: Rng, N: number, K: number, groupSize: number, signed: boolean, fill: Fill): Int4Weights {
  const codes = new Uint8Array(Math.ceil((N * K) / 2));
  for (let i = 0; i < N * K; i++) setNibble(codes, i, signed ? code(rng, -8, 7, fill) : code(rng, 0, 15, fill));
  const ng = groupCount(K, groupSize);
  const scales = new Float32Array(N * ng).map(() => scale(rng, true));
  const zeros = signed ? null : new Uint8Array(N * ng).map(() => code(rng, 0, 15, fill));
  return { N, K, groupSize, signed, codes, scales, zeros };
}

export function genF32(rng: Rng, n: number): Float32Array {
  return new Float32Array(n).map(() => rng.normal());
}

/**
 * Our (N, K) nibble codes re-blocked to MatMulNBits' B [N][nGroups][G/2] (low nibble first,
 * last block zero-padded) and zero points [N][ceil(nGroups/2)] (packed u4). i4 codes become u4 by
 * XOR 8 with the implicit zero point 8.
 */
export function toMatMulNBits(w: Int4Weights): { B: Uint8Array; zp: Uint8Array | null; nGroups: number; blob: number } {
  const { N, K, groupSize: G } = w;
  const ng = groupCount(K, G);
  const blob = G / 2;
  const B = new Uint8Array(N * ng * blob);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const i = n * K + k;
      const nib = (w.codes[i >> 1] >> ((i & 1) * 4)) & 0xf;
      const u = w.signed ? nib ^ 8 : nib;
      const g = Math.floor(k / G);
      setNibble(B, (n * ng + g) * G + (k - g * G), u);
    }
  }
  let zp: Uint8Array | null = null;
  if (!w.signed) {
    const per = Math.ceil(ng / 2);
    zp = new Uint8Array(N * per);
    for (let n = 0; n < N; n++) for (let g = 0; g < ng; g++) setNibble(zp, n * per * 2 + g, (w.zeros as Uint8Array)[n * ng + g]);
  }
  return { B, zp, nGroups: ng, blob };
}

export { aroundTile, AWKWARD } from './arb.js';

/**
 * Bit-exact comparison with XNNPACK-style failure context (kernel, M×N×K, first bad index).
 * Compares float32 bit patterns, so -0 vs +0 counts as a difference.
 */
export function expectBitExact(name: string, dims: string, ref: Float32Array, got: Float32Array): void {
  const rb = new Uint32Array(ref.buffer, ref.byteOffset, ref.length);
  const gb = new Uint32Array(got.buffer, got.byteOffset, got.length);
  if (ref.length !== got.length) throw new Error(`${name} ${dims}: length ${got.length} != ref ${ref.length}`);
  for (let i = 0; i < rb.length; i++) {
    if (rb[i] !== gb[i]) {
      let bad = 0;
      for (let j = i; j < rb.length; j++) if (rb[j] !== gb[j]) bad++;
      throw new Error(`${name} ${dims}: index ${i}: reference ${ref[i]} optimized ${got[i]} (${bad} of ${rb.length} differ)`);
    }
  }
}
