import * as ops from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { autoInstallBackend } from '../tensor/wasm/index.js';

// Inference runs on the SIMD kernels when the runtime has them (QWM_BACKEND=ref opts out).
autoInstallBackend();

/**
 * The operations a layer's forward is written in. Layers are written once, generic in the value
 * type T: `tensorFns` runs them on plain tensors (inference, no tape), and the autograd's
 * implementation runs the same code on Vars (training, gradients w.r.t. inputs). This keeps one
 * definition of every layer while inference pays nothing for differentiability.
 */
export interface Fns<T> {
  /** true when values carry gradients (training); quantized implementations run only when false */
  readonly differentiable: boolean;
  /** a model parameter as a value of T (a Var is created once per parameter and reused) */
  param(t: Tensor<'f32'>): T;
  /** a constant input (no gradient) */
  constant(t: Tensor<'f32'>): T;
  value(x: T): Tensor<'f32'>;
  shape(x: T): readonly number[];
  /** x (..., K) W (N, K) b (N) -> (..., N) */
  linear(x: T, w: T, b: T | null): T;
  matmul(a: T, b: T, opts?: ops.MatmulOptions): T;
  add(a: T, b: T): T;
  mul(a: T, b: T): T;
  scale(x: T, s: number): T;
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;
  gelu(x: T): T;
  relu(x: T): T;
  /** softmax over the last axis; mask: u8 (1 = visible) broadcast to x */
  softmax(x: T, mask: Tensor | null): T;
  reshape(x: T, shape: readonly number[]): T;
  permute(x: T, perm: readonly number[]): T;
  concat(xs: T[], axis: number): T;
  slice(x: T, axis: number, start: number, end: number): T;
  im2patch(x: T, p: number): T;
  /** x (B, C, H, W) w (O, C/groups, kh, kw) b (O) -> (B, O, Ho, Wo), as torch conv2d */
  conv2d(x: T, w: T, b: T | null, opts?: ops.Conv2dOptions): T;
  /** x (B, C, H, W) w (C, O/groups, kh, kw) b (O) -> (B, O, Hout, Wout), as torch conv_transpose2d */
  convTranspose2d(x: T, w: T, b: T | null, opts?: ops.ConvTranspose2dOptions): T;
}

/** Inference: plain tensors through the reference ops (matmul/linear reach the fast GEMM backend). */
export const tensorFns: Fns<Tensor<'f32'>> = {
  differentiable: false,
  param: (t) => t,
  constant: (t) => t,
  value: (x) => x,
  shape: (x) => x.shape,
  linear: (x, w, b) => ops.linear(x, w, b),
  matmul: (a, b, o) => ops.matmul(a, b, o),
  add: ops.add,
  mul: ops.mul,
  scale: ops.scale,
  layerNorm: (x, g, b, eps) => ops.layerNorm(x, g, b, eps),
  gelu: ops.gelu,
  relu: ops.relu,
  softmax: (x, mask) => ops.softmax(x, -1, mask),
  reshape: (x, s) => x.reshape(s),
  permute: ops.permute,
  concat: (xs, axis) => ops.concat(xs, axis),
  slice: (x, axis, start, end) => ops.slice(x, axis, start, end),
  im2patch: ops.im2patch,
  conv2d: (x, w, b, o) => ops.conv2d(x, w, b, o),
  convTranspose2d: (x, w, b, o) => ops.convTranspose2d(x, w, b, o),
};
