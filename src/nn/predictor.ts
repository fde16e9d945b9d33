import { ShapeError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { PredictorConfig } from './config.js';
import type { Fns } from './fn.js';
import { Attention, Block, LayerNorm, Mlp } from './layers.js';
import { Linear } from './linear.js';
import { take, type ParamSpec, type WeightMap } from './weights.js';

export function predictorSpec(c: PredictorConfig, P: number, D: number, p = 'predictor'): ParamSpec {
  const inner = c.heads * c.dimHead;
  const spec: ParamSpec = [[`${p}.pos_embedding`, [1, c.numFrames * P, D], 'pos']];
  for (let i = 0; i < c.depth; i++) {
    const b = `${p}.blocks.${i}`;
    spec.push(
      [`${b}.norm1.weight`, [D], 'ones'],
      [`${b}.norm1.bias`, [D], 'zeros'],
      [`${b}.attn.to_qkv.weight`, [3 * inner, D], 'linear'],
      [`${b}.attn.to_out.weight`, [D, inner], 'linear'],
      [`${b}.attn.to_out.bias`, [D], 'zeros'],
      [`${b}.norm2.weight`, [D], 'ones'],
      [`${b}.norm2.bias`, [D], 'zeros'],
      [`${b}.mlp.fc1.weight`, [c.mlpDim, D], 'linear'],
      [`${b}.mlp.fc1.bias`, [c.mlpDim], 'zeros'],
      [`${b}.mlp.fc2.weight`, [D, c.mlpDim], 'linear'],
      [`${b}.mlp.fc2.bias`, [D], 'zeros'],
    );
  }
  spec.push([`${p}.norm.weight`, [D], 'ones'], [`${p}.norm.bias`, [D], 'zeros']);
  return spec;
}

/**
 * DINO-WM's frame-causal mask (generate_mask_matrix): token i sees token j iff
 * frame(j) <= frame(i), frame(i) = floor(i / P). u8 (T·P, T·P), 1 = visible.
 */
export function frameCausalMask(T: number, P: number): Tensor<'u8'> {
  const N = T * P;
  const m = new Tensor('u8', [N, N]);
  const d = m.data as Uint8Array;
  for (let i = 0; i < N; i++) {
    const fi = Math.floor(i / P);
    for (let j = 0; j < (fi + 1) * P; j++) d[i * N + j] = 1;
  }
  return m;
}

/**
 * DINO-WM's ViT predictor (B.4): x + pos[:, :T·P], pre-LN blocks (to_qkv without bias, dots scaled
 * by dim_head^-0.5, frame-causal mask), final LayerNorm. The output at frame t predicts frame t+1.
 */
export class Predictor {
  readonly blocks: Block[] = [];
  readonly norm: LayerNorm;
  readonly pos: Tensor<'f32'>;
  private readonly masks = new Map<number, Tensor<'u8'>>();

  constructor(
    readonly c: PredictorConfig,
    /** patches per frame */
    readonly P: number,
    /** token width */
    readonly D: number,
    w: WeightMap,
    p = 'predictor',
  ) {
    const inner = c.heads * c.dimHead;
    this.pos = take(w, `${p}.pos_embedding`, [1, c.numFrames * P, D]);
    for (let i = 0; i < c.depth; i++) {
      const b = `${p}.blocks.${i}`;
      const ln = (n: string): LayerNorm => new LayerNorm(`${b}.${n}`, take(w, `${b}.${n}.weight`, [D]), take(w, `${b}.${n}.bias`, [D]), c.lnEps);
      const lin = (n: string, o: number, inF: number, bias: boolean): Linear => new Linear(`${b}.${n}`, take(w, `${b}.${n}.weight`, [o, inF]), bias ? take(w, `${b}.${n}.bias`, [o]) : null);
      this.blocks.push(
        new Block(
          ln('norm1'),
          new Attention(lin('attn.to_qkv', 3 * inner, D, false), lin('attn.to_out', D, inner, true), c.heads, c.dimHead, 'dots'),
          ln('norm2'),
          new Mlp(lin('mlp.fc1', c.mlpDim, D, true), lin('mlp.fc2', D, c.mlpDim, true)),
          null,
          null,
        ),
      );
    }
    this.norm = new LayerNorm(`${p}.norm`, take(w, `${p}.norm.weight`, [D]), take(w, `${p}.norm.bias`, [D]), c.lnEps);
  }

  linears(): Linear[] {
    return this.blocks.flatMap((b) => [b.attn.qkv, b.attn.proj, b.mlp.fc1, b.mlp.fc2]);
  }

  mask(T: number): Tensor<'u8'> {
    let m = this.masks.get(T);
    if (!m) {
      m = frameCausalMask(T, this.P);
      this.masks.set(T, m);
    }
    return m;
  }

  /**
   * @param z (B, T, P, D) latents of T <= numFrames frames
   * @returns (B, T, P, D) predictions of the next frame of each
   */
  forward<T>(F: Fns<T>, z: T): T {
    const s = F.shape(z);
    if (s.length !== 4 || s[2] !== this.P || s[3] !== this.D || s[1] < 1 || s[1] > this.c.numFrames) {
      throw new ShapeError('Predictor', `z must be (B, 1..${this.c.numFrames}, ${this.P}, ${this.D}), got ${fmtShape(s)}`);
    }
    const [B, T] = s;
    const N = T * this.P;
    const mask = this.mask(T);
    return F.scope(() => {
      const pos = T === this.c.numFrames ? F.param(this.pos) : F.slice(F.param(this.pos), 1, 0, N);
      let x = F.add(F.reshape(z, [B, N, this.D]), pos);
      for (const blk of this.blocks) x = F.scope(() => blk.forward(F, x, mask));
      return F.reshape(this.norm.forward(F, x), [B, T, this.P, this.D]);
    });
  }
}
