import { ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { Fns } from './fn.js';
import { Linear } from './linear.js';

/** LayerNorm over the last axis with affine parameters. */
export class LayerNorm {
  constructor(
    readonly name: string,
    public weight: Tensor<'f32'>,
    public bias: Tensor<'f32'>,
    readonly eps: number,
  ) {}
  forward<T>(F: Fns<T>, x: T): T {
    return F.layerNorm(x, F.param(this.weight), F.param(this.bias), this.eps);
  }
}

/**
 * fc1 -> exact GELU -> fc2. With an activation scale s (AWQ's ScaledActivation, set by quant for
 * the GELU -> fc2 pair), fc2 sees gelu(fc1 x) / s per hidden channel, divided as llm-awq divides;
 * absent (the default), the forward is exactly the plain MLP's.
 */
export class Mlp {
  private scale: Tensor<'f32'> | null = null;
  constructor(
    readonly fc1: Linear,
    readonly fc2: Linear,
  ) {}
  /** s (hidden), or null. */
  get actScale(): Tensor<'f32'> | null {
    return this.scale;
  }
  set actScale(s: Tensor<'f32'> | null) {
    if (s && (s.ndim !== 1 || s.shape[0] !== this.fc1.outFeatures)) {
      throw new ShapeError(`${this.fc2.name} actScale`, `scale ${fmtShape(s.shape)} is not (${this.fc1.outFeatures}) = hidden`);
    }
    const bad = s ? s.f32.findIndex((v) => !(v > 0 && v < Infinity)) : -1;
    if (bad >= 0) throw new ValueError(`${this.fc2.name} actScale`, `scale[${bad}] = ${(s as Tensor<'f32'>).f32[bad]} is not a positive finite number`);
    this.scale = s;
  }
  forward<T>(F: Fns<T>, x: T): T {
    const h = F.gelu(this.fc1.forward(F, x));
    return this.fc2.forward(F, this.scale ? F.div(h, F.constant(this.scale)) : h);
  }
}

/**
 * Multi-head self-attention with a fused qkv projection.
 * DINOv2 scales q before q·kᵀ ('q'); DINO-WM's predictor scales the dot products ('dots'): the two
 * orders round differently in float32, so the model keeps each one's own.
 */
export class Attention {
  constructor(
    readonly qkv: Linear,
    readonly proj: Linear,
    readonly heads: number,
    readonly dimHead: number,
    readonly scaleAt: 'q' | 'dots',
  ) {
    if (qkv.outFeatures !== 3 * heads * dimHead) {
      throw new ShapeError(qkv.name, `qkv out_features ${qkv.outFeatures} != 3 x ${heads} heads x ${dimHead}`);
    }
  }
  /**
   * @param x (B, N, D)
   * @param mask u8 (N, N), 1 = visible, or null
   */
  forward<T>(F: Fns<T>, x: T, mask: Tensor | null): T {
    return this.proj.forward(F, F.attention(this.qkv.forward(F, x), this.heads, mask, this.scaleAt));
  }
}

/** Pre-LN transformer block: x + ls1·attn(norm1 x), then x + ls2·mlp(norm2 x). LayerScale optional. */
export class Block {
  constructor(
    readonly norm1: LayerNorm,
    readonly attn: Attention,
    readonly norm2: LayerNorm,
    readonly mlp: Mlp,
    public ls1: Tensor<'f32'> | null,
    public ls2: Tensor<'f32'> | null,
  ) {}
  /** @param x (B, N, D) */
  forward<T>(F: Fns<T>, x: T, mask: Tensor | null): T {
    let h = this.attn.forward(F, this.norm1.forward(F, x), mask);
    if (this.ls1) h = F.mul(h, F.param(this.ls1));
    x = F.add(x, h);
    h = this.mlp.forward(F, this.norm2.forward(F, x));
    if (this.ls2) h = F.mul(h, F.param(this.ls2));
    return F.add(x, h);
  }
}

export function checkRank(where: string, shape: readonly number[], rank: number, what: string): void {
  if (shape.length !== rank) throw new ShapeError(where, `${what} must have rank ${rank}, got ${fmtShape(shape)}`);
}
