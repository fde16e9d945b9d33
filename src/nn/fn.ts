import * as fast from '../tensor/fast/index.js';
import * as ops from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { withArena } from '../tensor/fast/stage.js';
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
  /** a / b with broadcasting, one float32 rounding (AWQ's ScaledActivation) */
  div(a: T, b: T): T;
  scale(x: T, s: number): T;
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;
  gelu(x: T): T;
  relu(x: T): T;
  /** softmax over the last axis; mask: u8 (1 = visible) broadcast to x */
  softmax(x: T, mask: Tensor | null): T;
  /**
   * Multi-head attention straight from a fused projection: qkv (B, N, 3·H·dh) -> (B, N, H·dh),
   * softmax(q kᵀ · s, masked) v per head, s = dh^-0.5 applied to q ('q') or to the dots ('dots').
   */
  attention(qkv: T, heads: number, mask: Tensor | null, scaleAt: 'q' | 'dots'): T;
  reshape(x: T, shape: readonly number[]): T;
  permute(x: T, perm: readonly number[]): T;
  concat(xs: T[], axis: number): T;
  slice(x: T, axis: number, start: number, end: number): T;
  im2patch(x: T, p: number): T;
  /** x (B, C, H, W) w (O, C/groups, kh, kw) b (O) -> (B, O, Ho, Wo), as torch conv2d */
  conv2d(x: T, w: T, b: T | null, opts?: ops.Conv2dOptions): T;
  /** x (B, C, H, W) w (C, O/groups, kh, kw) b (O) -> (B, O, Hout, Wout), as torch conv_transpose2d */
  convTranspose2d(x: T, w: T, b: T | null, opts?: ops.ConvTranspose2dOptions): T;
  /**
   * Evaluate `fn` as one unit whose intermediates may be dropped when it returns: on tensors an
   * arena keeps them in the kernel heap between ops and frees them at the end (only the result
   * survives); on Vars (the tape needs them) it is just fn().
   */
  scope(fn: () => T): T;
}

/**
 * Attention composed of the other Fns (the definition; used on Vars). The fast kernel computes
 * the same float32 operations in the same order (src/tensor/fast/attention.ts, bit-exact).
 */
export function composedAttention<T>(F: Fns<T>, qkv: T, heads: number, mask: Tensor | null, scaleAt: 'q' | 'dots'): T {
  const [B, N, C] = F.shape(qkv);
  const dh = C / (3 * heads);
  const t = F.permute(F.reshape(qkv, [B, N, 3, heads, dh]), [2, 0, 3, 1, 4]); // (3, B, H, N, dh)
  let q = F.reshape(F.slice(t, 0, 0, 1), [B, heads, N, dh]);
  const k = F.reshape(F.slice(t, 0, 1, 2), [B, heads, N, dh]);
  const v = F.reshape(F.slice(t, 0, 2, 3), [B, heads, N, dh]);
  const s = 1 / Math.sqrt(dh);
  if (scaleAt === 'q') q = F.scale(q, s);
  let dots = F.matmul(q, k, { transB: true }); // (B, H, N, N)
  if (scaleAt === 'dots') dots = F.scale(dots, s);
  return F.reshape(F.permute(F.matmul(F.softmax(dots, mask), v), [0, 2, 1, 3]), [B, N, heads * dh]);
}

/**
 * Inference: plain tensors on the fast kernels (src/tensor/fast: SIMD GELU, LayerNorm, softmax,
 * fused attention, layout and elementwise ops; matmul/linear on the SIMD GEMM). Each equals its
 * reference op bit for bit, except GELU (<= 1 float32 ulp, src/tensor/fast/gelu.ts).
 */
export const tensorFns: Fns<Tensor<'f32'>> = {
  differentiable: false,
  param: (t) => t,
  constant: (t) => t,
  value: (x) => x,
  shape: (x) => x.shape,
  linear: (x, w, b) => ops.linear(x, w, b),
  matmul: (a, b, o) => ops.matmul(a, b, o),
  add: fast.add,
  mul: fast.mul,
  div: (a, b) => ops.div(a, b),
  scale: fast.scale,
  layerNorm: (x, g, b, eps) => fast.layerNorm(x, g, b, eps),
  gelu: fast.gelu,
  relu: ops.relu,
  softmax: (x, mask) => fast.softmax(x, -1, mask),
  attention: (qkv, heads, mask, scaleAt) => fast.attentionQkv(qkv, heads, { mask, scaleAt }),
  reshape: (x, s) => x.reshape(s),
  permute: fast.permute,
  concat: (xs, axis) => fast.concat(xs, axis),
  slice: (x, axis, start, end) => fast.slice(x, axis, start, end),
  im2patch: ops.im2patch,
  conv2d: (x, w, b, o) => ops.conv2d(x, w, b, o),
  convTranspose2d: (x, w, b, o) => ops.convTranspose2d(x, w, b, o),
  scope: (fn) => withArena(fn, (t) => t.f32, (t, d) => new Tensor('f32', t.shape, d)),
};
