/**
 * TypeScript twin of the f32 GEMM kernel (gemm.ts). Reference semantics, never optimized:
 * speed lives in the emitted kernel.
 *
 * C[i,j] = fround(acc + bias[j]) (bias optional), where acc = 0 then
 * acc = fround(acc + fround(A[i,k]·B[k,j])) for k = 0..K-1 ascending: exactly the order the
 * kernel uses in every lane, so the two are bit-identical (budget F32_GEMM_VS_REF = 0).
 * The core loop is backend.ts `gemmF32Ref` (one home for the reference GEMM).
 */
import { gemmF32Ref } from '../../backend.js';

/**
 * @param A (M, K) row-major
 * @param B (K, N), or (N, K) when transB
 * @param bias (N) or null
 * @param C (M, N) output, overwritten
 */
export function gemmF32Twin(
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  B: Float32Array,
  transB: boolean,
  bias: Float32Array | null,
  C: Float32Array,
): void {
  gemmF32Ref(M, N, K, A, B, transB, C);
  if (bias) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[i * N + j] = C[i * N + j] + bias[j];
  }
}
