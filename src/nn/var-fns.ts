import * as ag from '../tensor/autograd/index.js';
import type { Var } from '../tensor/autograd/index.js';
import { composedAttention, type Fns } from './fn.js';

/**
 * Training: the same layer code on autograd Vars. Parameters come from `params`, so every
 * forward reuses one Var per weight tensor and the optimizer updates the tensors the layers hold.
 * A ParamSet made with requiresGrad = false freezes the model (gradients w.r.t. inputs only).
 */
export function varFns(params: ag.ParamSet): Fns<Var> {
  const F: Fns<Var> = {
    differentiable: true,
    param: (t) => params.of(t),
    constant: (t) => ag.constant(t),
    value: (x) => x.value,
    shape: (x) => x.shape,
    linear: (x, w, b) => ag.linear(x, w, b),
    matmul: (a, b, o) => ag.matmul(a, b, o),
    add: ag.add,
    mul: ag.mul,
    div: ag.div,
    scale: ag.scale,
    layerNorm: (x, g, b, eps) => ag.layerNorm(x, g, b, eps),
    gelu: ag.gelu,
    relu: ag.relu,
    softmax: (x, mask) => ag.softmax(x, -1, mask),
    attention: (qkv, heads, mask, scaleAt) => composedAttention(F, qkv, heads, mask, scaleAt),
    reshape: (x, s) => ag.reshape(x, s),
    permute: ag.permute,
    concat: (xs, axis) => ag.concat(xs, axis),
    slice: (x, axis, start, end) => ag.slice(x, axis, start, end),
    im2patch: ag.im2patch,
    conv2d: (x, w, b, o) => ag.conv2d(x, w, b, o),
    convTranspose2d: (x, w, b, o) => ag.convTranspose2d(x, w, b, o),
    scope: (fn) => fn(),
  };
  return F;
}
