/**
 * Packed B panels for the f32 GEMM (layout in gemm.ts): panel p = columns p·NR..p·NR+NR-1,
 * stored k-major, NR floats per k, zero-filled past N. Size: ceil(N/NR)·NR·K floats.
 * `packBInto` is the TypeScript twin of the kernel's `pack_b` export (gemm.ts), which the API
 * uses; a test holds the two bit-identical.
 */

/** Floats needed for packed B. */
export function packedFloats(N: number, K: number, nr: number): number {
  return Math.ceil(N / nr) * nr * K;
}

/**
 * Write packed B into `dst` starting at float index `at`.
 * @param B (K, N) row-major, or (N, K) when transB (nn.Linear's (out, in) weight)
 */
export function packBInto(dst: Float32Array, at: number, B: Float32Array, N: number, K: number, transB: boolean, nr: number): void {
  const panels = Math.ceil(N / nr);
  for (let p = 0; p < panels; p++) {
    const n0 = p * nr;
    const w = Math.min(nr, N - n0);
    let o = at + p * K * nr;
    if (transB) {
      for (let k = 0; k < K; k++, o += nr) {
        for (let c = 0; c < w; c++) dst[o + c] = B[(n0 + c) * K + k];
        for (let c = w; c < nr; c++) dst[o + c] = 0;
      }
    } else {
      for (let k = 0; k < K; k++, o += nr) {
        for (let c = 0; c < w; c++) dst[o + c] = B[k * N + n0 + c];
        for (let c = w; c < nr; c++) dst[o + c] = 0;
      }
    }
  }
}
