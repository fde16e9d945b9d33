/**
 * Differentiable 2-D convolution and transposed convolution on NCHW Vars. The forward is the
 * reference op (../ops/conv.ts), so a Var forward equals the tensor forward bit for bit; the
 * backward is that file's conv2dBackward / convTranspose2dBackward (im2col + GEMM, float32
 * accumulation in a fixed order). Gradients are returned only for inputs that require one.
 */
import { conv2d as conv2dOp, conv2dBackward, convTranspose2d as convTranspose2dOp, convTranspose2dBackward, type Conv2dOptions, type ConvGrads, type ConvTranspose2dOptions } from '../ops/conv.js';
import type { Tensor } from '../tensor.js';
import { customOp } from './custom.js';
import type { Var } from './var.js';

/** The gradients customOp expects, in input order [x, w, b?], null where no gradient is needed. */
function pick(gs: ConvGrads, x: Var, w: Var, b: Var | null): (Tensor<'f32'> | null)[] {
  const out: (Tensor<'f32'> | null)[] = [x.requiresGrad ? gs.gx : null, w.requiresGrad ? gs.gw : null];
  if (b) out.push(b.requiresGrad ? gs.gb : null);
  return out;
}

/**
 * torch.nn.functional.conv2d on Vars.
 * @param x (B, C, H, W)  @param w (O, C/groups, kh, kw)  @param b (O) or null
 * @returns (B, O, Ho, Wo)
 */
export function conv2d(x: Var, w: Var, b: Var | null, opts: Conv2dOptions = {}): Var {
  return customOp(
    'conv2d',
    b ? [x, w, b] : [x, w],
    (xv, wv, bv) => conv2dOp(xv, wv, bv ?? null, opts),
    (g) => pick(conv2dBackward(x.value, w.value, g, opts), x, w, b),
  );
}

/**
 * torch.nn.functional.conv_transpose2d on Vars.
 * @param x (B, C, H, W)  @param w (C, O/groups, kh, kw)  @param b (O) or null
 * @returns (B, O, Hout, Wout)
 */
export function convTranspose2d(x: Var, w: Var, b: Var | null, opts: ConvTranspose2dOptions = {}): Var {
  return customOp(
    'convTranspose2d',
    b ? [x, w, b] : [x, w],
    (xv, wv, bv) => convTranspose2dOp(xv, wv, bv ?? null, opts),
    (g) => pick(convTranspose2dBackward(x.value, w.value, g, opts), x, w, b),
  );
}
