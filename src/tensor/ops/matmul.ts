/**
 * Reference semantics for matmul and linear. float32 storage (results written to
 * Float32Array); every 2-D product goes through `backend().gemmF32` (the reference GEMM
 * accumulates in float32, k ascending; a WASM backend states its own bound), so installing a
 * fast backend with setBackend speeds up every layer. Never optimized: speed lives in ../wasm.
 */
import { backend } from '../backend.js';
import { ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { broadcastOffsets, broadcastShapes, broadcastStrides, checkF32, prod } from './util.js';

export interface MatmulOptions {
  /** use a^T: a is (..., K, M) instead of (..., M, K) */
  transA?: boolean;
  /** use b^T: b is (..., N, K) instead of (..., K, N) */
  transB?: boolean;
}

/** Transpose the last two axes of a contiguous (rows, cols) block into a new array. */
function transpose2(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/**
 * Batched matrix product op(a) · op(b), batch dims broadcast as numpy/torch.matmul.
 * @param a (...batchA, M, K), or (...batchA, K, M) with transA
 * @param b (...batchB, K, N), or (...batchB, N, K) with transB
 * @returns (...broadcast(batchA, batchB), M, N)
 */
export function matmul(a: Tensor<'f32'>, b: Tensor<'f32'>, opts: MatmulOptions = {}): Tensor<'f32'> {
  const op = 'matmul';
  checkF32(op, a, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2) {
    throw new ShapeError(op, `operands must be at least 2-D, got a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)}`);
  }
  const ra = a.shape[a.ndim - 2];
  const ca = a.shape[a.ndim - 1];
  const rb = b.shape[b.ndim - 2];
  const cb = b.shape[b.ndim - 1];
  const [M, K] = transA ? [ca, ra] : [ra, ca];
  const [Kb, N] = transB ? [cb, rb] : [rb, cb];
  if (K !== Kb) {
    throw new ShapeError(
      op,
      `inner dims differ: a ${fmtShape(a.shape)}${transA ? '^T' : ''} has K=${K}, b ${fmtShape(b.shape)}${transB ? '^T' : ''} has K=${Kb}`,
    );
  }
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShapes(op, batchA, batchB);
  const nb = prod(batch);
  const out = new Float32Array(nb * M * N);
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  const gemm = backend().gemmF32;
  // b shared by every batch and a not transposed: one GEMM with the batch folded into M.
  if (prod(batchB) === 1 && !transA) {
    gemm(nb * M, N, K, A.subarray(0, nb * M * K), B, transB, out);
    return new Tensor('f32', [...batch, M, N], out);
  }
  const offA = broadcastOffsets(batch, broadcastStrides(batchA, batch));
  const offB = broadcastOffsets(batch, broadcastStrides(batchB, batch));
  const sizeA = M * K;
  const sizeB = K * N;
  for (let i = 0; i < nb; i++) {
    let Ai = A.subarray(offA[i] * sizeA, (offA[i] + 1) * sizeA);
    if (transA) Ai = transpose2(Ai, K, M);
    const Bi = B.subarray(offB[i] * sizeB, (offB[i] + 1) * sizeB);
    gemm(M, N, K, Ai, Bi, transB, out.subarray(i * M * N, (i + 1) * M * N));
  }
  return new Tensor('f32', [...batch, M, N], out);
}

/**
 * y = x W^T + b, as torch.nn.functional.linear. One transB GEMM over all rows; the bias is
 * added afterwards in float32.
 * @param x (..., K)
 * @param w (N, K)
 * @param bias (N) or undefined
 * @returns (..., N)
 */
export function linear(x: Tensor<'f32'>, w: Tensor<'f32'>, bias?: Tensor<'f32'> | null): Tensor<'f32'> {
  const op = 'linear';
  checkF32(op, x, w);
  if (w.ndim !== 2) throw new ShapeError(op, `weight must be (N, K), got ${fmtShape(w.shape)}`);
  if (x.ndim < 1) throw new ShapeError(op, `input must have a feature axis, got ${fmtShape(x.shape)}`);
  const [N, K] = w.shape;
  if (x.shape[x.ndim - 1] !== K) {
    throw new ShapeError(op, `input ${fmtShape(x.shape)} last dim != weight ${fmtShape(w.shape)} in_features ${K}`);
  }
  if (bias) {
    checkF32(op, bias);
    if (bias.ndim !== 1 || bias.shape[0] !== N) {
      throw new ShapeError(op, `bias ${fmtShape(bias.shape)} must be (${N}) for weight ${fmtShape(w.shape)}`);
    }
  }
  const M = prod(x.shape, 0, x.ndim - 1);
  const out = new Float32Array(M * N);
  backend().gemmF32(M, N, K, x.data as Float32Array, w.data as Float32Array, true, out);
  if (bias) {
    const b = bias.data as Float32Array;
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) out[i * N + j] += b[j];
  }
  return new Tensor('f32', [...x.shape.slice(0, -1), N], out);
}
