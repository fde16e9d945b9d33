import { ShapeError, fmtShape } from '../tensor/errors.js';
import { interpolatePosEmbed } from '../tensor/ops/resize.js';
import { Tensor } from '../tensor/tensor.js';
import { numPatches, patchesPerSide, type EncoderConfig } from './config.js';
import type { Fns } from './fn.js';
import { Attention, Block, LayerNorm, Mlp } from './layers.js';
import { Linear } from './linear.js';
import { take, type ParamSpec, type WeightMap } from './weights.js';

export function encoderSpec(c: EncoderConfig, p = 'encoder'): ParamSpec {
  const D = c.dim;
  const spec: ParamSpec = [
    [`${p}.patch_embed.weight`, [D, 3, c.patchSize, c.patchSize], 'linear'],
    [`${p}.patch_embed.bias`, [D], 'zeros'],
    [`${p}.cls_token`, [1, 1, D], 'cls'],
    [`${p}.pos_embed`, [1, 1 + c.posGrid * c.posGrid, D], 'pos'],
  ];
  for (let i = 0; i < c.depth; i++) {
    const b = `${p}.blocks.${i}`;
    spec.push(
      [`${b}.norm1.weight`, [D], 'ones'],
      [`${b}.norm1.bias`, [D], 'zeros'],
      [`${b}.attn.qkv.weight`, [3 * D, D], 'linear'],
      [`${b}.attn.qkv.bias`, [3 * D], 'zeros'],
      [`${b}.attn.proj.weight`, [D, D], 'linear'],
      [`${b}.attn.proj.bias`, [D], 'zeros'],
      [`${b}.ls1.gamma`, [D], 'ls'],
      [`${b}.norm2.weight`, [D], 'ones'],
      [`${b}.norm2.bias`, [D], 'zeros'],
      [`${b}.mlp.fc1.weight`, [c.mlpDim, D], 'linear'],
      [`${b}.mlp.fc1.bias`, [c.mlpDim], 'zeros'],
      [`${b}.mlp.fc2.weight`, [D, c.mlpDim], 'linear'],
      [`${b}.mlp.fc2.bias`, [D], 'zeros'],
      [`${b}.ls2.gamma`, [D], 'ls'],
    );
  }
  spec.push([`${p}.norm.weight`, [D], 'ones'], [`${p}.norm.bias`, [D], 'zeros']);
  return spec;
}

/**
 * DINOv2-shaped ViT (reference/quantwm-dinowm-spec.md B.2): patch embedding (conv stride = kernel
 * as im2patch + Linear), CLS token, learned positional embedding (bicubically interpolated once
 * to the patch grid when trained at another grid), pre-LN blocks with LayerScale, final norm.
 * Outputs the normalised patch tokens (CLS dropped).
 */
export class Encoder {
  readonly patchEmbed: Linear;
  readonly blocks: Block[] = [];
  readonly norm: LayerNorm;
  readonly cls: Tensor<'f32'>;
  /** (1, 1 + P, D) at the patch grid */
  readonly pos: Tensor<'f32'>;

  constructor(
    readonly c: EncoderConfig,
    w: WeightMap,
    p = 'encoder',
  ) {
    const D = c.dim;
    const K = 3 * c.patchSize * c.patchSize;
    // The conv weight (D, 3, p, p) is the Linear weight (D, 3·p·p) in im2patch's channel-major order.
    this.patchEmbed = new Linear(`${p}.patch_embed`, take(w, `${p}.patch_embed.weight`, [D, 3, c.patchSize, c.patchSize]).reshape([D, K]), take(w, `${p}.patch_embed.bias`, [D]));
    this.cls = take(w, `${p}.cls_token`, [1, 1, D]);
    const pos = take(w, `${p}.pos_embed`, [1, 1 + c.posGrid * c.posGrid, D]);
    const g = patchesPerSide(c);
    this.pos = g === c.posGrid ? pos : interpolatePosEmbed(pos, g, g, { offset: c.posOffset, numPrefixTokens: 1 });
    const eps = c.lnEps;
    const dh = D / c.heads;
    for (let i = 0; i < c.depth; i++) {
      const b = `${p}.blocks.${i}`;
      const lin = (n: string, o: number, inF: number): Linear => new Linear(`${b}.${n}`, take(w, `${b}.${n}.weight`, [o, inF]), take(w, `${b}.${n}.bias`, [o]));
      const ln = (n: string): LayerNorm => new LayerNorm(`${b}.${n}`, take(w, `${b}.${n}.weight`, [D]), take(w, `${b}.${n}.bias`, [D]), eps);
      this.blocks.push(
        new Block(
          ln('norm1'),
          new Attention(lin('attn.qkv', 3 * D, D), lin('attn.proj', D, D), c.heads, dh, 'q'),
          ln('norm2'),
          new Mlp(lin('mlp.fc1', c.mlpDim, D), lin('mlp.fc2', D, c.mlpDim)),
          take(w, `${b}.ls1.gamma`, [D]),
          take(w, `${b}.ls2.gamma`, [D]),
        ),
      );
    }
    this.norm = new LayerNorm(`${p}.norm`, take(w, `${p}.norm.weight`, [D]), take(w, `${p}.norm.bias`, [D]), eps);
  }

  linears(): Linear[] {
    return this.blocks.flatMap((b) => [b.attn.qkv, b.attn.proj, b.mlp.fc1, b.mlp.fc2]);
  }

  /**
   * @param x (B, 3, S, S) image in [-1, 1] at the encoder's input size
   * @param masked for masked-image-modelling pretraining: the patch embeddings where mask = 1
   *   (mask (B, P, 1)) are replaced by `token` (1, 1, D) before the blocks
   * @returns (B, P, D) normalised patch tokens
   */
  forward<T>(F: Fns<T>, x: T, masked?: { token: T; mask: Tensor<'f32'> }): T {
    const s = F.shape(x);
    const S = this.c.inputSize;
    if (s.length !== 4 || s[1] !== 3 || s[2] !== S || s[3] !== S) {
      throw new ShapeError('Encoder', `input must be (B, 3, ${S}, ${S}), got ${fmtShape(s)}`);
    }
    const B = s[0];
    const P = numPatches(this.c);
    const D = this.c.dim;
    return F.scope(() => {
      let tokens = this.patchEmbed.forward(F, F.im2patch(x, this.c.patchSize)); // (B, P, D)
      if (masked) {
        const keep = new Tensor('f32', masked.mask.shape, masked.mask.f32.map((m) => 1 - m));
        tokens = F.add(F.mul(tokens, F.constant(keep)), F.mul(masked.token, F.constant(masked.mask)));
      }
      const cls = F.param(this.cls);
      const clsB = B === 1 ? cls : F.concat(Array.from({ length: B }, () => cls), 0);
      let h = F.add(F.concat([clsB, tokens], 1), F.param(this.pos)); // (B, 1+P, D)
      for (const blk of this.blocks) h = F.scope(() => blk.forward(F, h, null));
      h = this.norm.forward(F, h);
      return F.reshape(F.slice(h, 1, 1, 1 + P), [B, P, D]);
    });
  }
}
