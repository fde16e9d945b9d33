/**
 * The seam between the reference ops and the fast kernels.
 *
 * `ops/matmul.ts` calls `backend().gemmF32(...)` for every f32 matrix product. The default is
 * the plain TypeScript reference (`gemmF32Ref`); `wasm/` installs its SIMD kernel with
 * `setBackend` (sync: kernels are small modules compiled with `new WebAssembly.Module`).
 * Swapping the backend never changes shapes or semantics, only speed and float rounding
 * within the bound stated by the kernel.
 */

/**
 * C[M,N] = A[M,K] · op(B), row-major and contiguous, C overwritten.
 * op(B) = B when B is [K,N] (transB = false), B^T when B is [N,K] (transB = true).
 */
export type GemmF32 = (
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  B: Float32Array,
  transB: boolean,
  C: Float32Array,
) => void;

export interface Backend {
  readonly name: string;
  gemmF32: GemmF32;
}

/**
 * Reference GEMM: each C[i,j] accumulates A[i,k]·B[k,j] in float32 (Math.fround after every
 * multiply-add), k ascending. Never optimized: speed lives in ./wasm.
 */
export const gemmF32Ref: GemmF32 = (M, N, K, A, B, transB, C) => {
  const fr = Math.fround;
  for (let i = 0; i < M; i++) {
    const a0 = i * K;
    for (let j = 0; j < N; j++) {
      let acc = 0;
      if (transB) {
        const b0 = j * K;
        for (let k = 0; k < K; k++) acc = fr(acc + fr(A[a0 + k] * B[b0 + k]));
      } else {
        for (let k = 0; k < K; k++) acc = fr(acc + fr(A[a0 + k] * B[k * N + j]));
      }
      C[i * N + j] = acc;
    }
  }
};

const reference: Backend = { name: 'ref', gemmF32: gemmF32Ref };
let current: Backend = reference;

export function backend(): Backend {
  return current;
}

/** Install a backend; returns the previous one so callers (tests) can restore it. */
export function setBackend(b: Backend): Backend {
  const prev = current;
  current = b;
  return prev;
}

export function referenceBackend(): Backend {
  return reference;
}
