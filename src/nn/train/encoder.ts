import * as ag from '../../tensor/autograd/index.js';
import { ValueError } from '../../tensor/errors.js';
import { toFloatImage } from '../../tensor/ops/image.js';
import { im2patch } from '../../tensor/ops/patch.js';
import { Rng } from '../../tensor/rng.js';
import { Tensor } from '../../tensor/tensor.js';
import { numPatches, type EncoderConfig } from '../config.js';
import { Encoder } from '../encoder.js';
import { Linear } from '../linear.js';
import { varFns } from '../var-fns.js';
import { take, type ParamSpec, type WeightMap } from '../weights.js';

export interface PretrainOptions {
  lr: number;
  weightDecay: number;
  /** fraction of patches replaced by the mask token */
  maskRatio: number;
}

export const DEFAULT_PRETRAIN: PretrainOptions = { lr: 1e-3, weightDecay: 0.05, maskRatio: 0.5 };

/** Parameters of the pretraining head (dropped when the encoder is frozen and shipped). */
export function mimSpec(c: EncoderConfig): ParamSpec {
  const K = 3 * c.patchSize * c.patchSize;
  return [
    ['mim.mask_token', [1, 1, c.dim], 'cls'],
    ['mim.head.weight', [K, c.dim], 'linear'],
    ['mim.head.bias', [K], 'zeros'],
  ];
}

/**
 * Masked image modelling (SimMIM: Xie et al. 2022) for the compact DINOv2-shaped encoder: a random
 * `maskRatio` of the patch embeddings is replaced by a learned mask token, the encoder runs on all
 * tokens, and a linear head regresses the [-1, 1] pixels of the masked patches (MSE over masked
 * patches only). Patch tokens must then carry what their neighbours need to reconstruct the
 * hidden ones, which makes them spatially informative, as the planner needs.
 */
export class EncoderPretrainer {
  readonly encoder: Encoder;
  readonly head: Linear;
  readonly maskToken: Tensor<'f32'>;
  readonly params = new ag.ParamSet(true);
  readonly opt: ag.AdamW;
  private readonly F = varFns(this.params);

  constructor(
    readonly c: EncoderConfig,
    /** encoder.* and mim.* weights */
    readonly weights: WeightMap,
    readonly o: PretrainOptions = DEFAULT_PRETRAIN,
  ) {
    if (!(o.maskRatio > 0 && o.maskRatio < 1)) throw new ValueError('EncoderPretrainer', `maskRatio must be in (0, 1), got ${o.maskRatio}`);
    this.encoder = new Encoder(c, weights);
    const K = 3 * c.patchSize * c.patchSize;
    this.head = new Linear('mim.head', take(weights, 'mim.head.weight', [K, c.dim]), take(weights, 'mim.head.bias', [K]));
    this.maskToken = take(weights, 'mim.mask_token', [1, 1, c.dim]);
    // every weight of the encoder and head trains (register in the map's order for a stable optimizer layout)
    for (const [name, t] of weights) if (name.startsWith('encoder.') || name.startsWith('mim.')) this.params.of(t, name);
    this.opt = new ag.AdamW(this.params.vars(), { lr: o.lr, weightDecay: o.weightDecay });
  }

  /** (B, P, 1) with exactly round(ratio·P) ones per image, chosen by `rng`. */
  sampleMask(B: number, rng: Rng): Tensor<'f32'> {
    const P = numPatches(this.c);
    const k = Math.max(1, Math.round(this.o.maskRatio * P));
    const m = new Tensor('f32', [B, P, 1]);
    for (let b = 0; b < B; b++) {
      const idx = rng.shuffle(Array.from({ length: P }, (_, i) => i));
      for (let i = 0; i < k; i++) m.f32[b * P + idx[i]] = 1;
    }
    return m;
  }

  /**
   * @param images u8 (B, S, S, 3) at the encoder's input size
   * @param mask (B, P, 1) 1 = masked
   */
  loss(images: Tensor, mask: Tensor<'f32'>): ag.Var {
    const F = this.F;
    const x = toFloatImage(images);
    const tokens = this.encoder.forward(F, F.constant(x), { token: F.param(this.maskToken), mask });
    const pred = this.head.forward(F, tokens); // (B, P, 3p²)
    const target = im2patch(x, this.c.patchSize);
    const masked = mask.f32.reduce((a, b) => a + b, 0);
    const diff = ag.mul(ag.sub(pred, ag.constant(target)), ag.constant(mask));
    // mean over masked patches and their pixels = sum / (masked · 3p²)
    return ag.scale(ag.sum(ag.mul(diff, diff)), 1 / (masked * target.shape[2]));
  }

  step(images: Tensor, rng: Rng): number {
    this.opt.zeroGrad();
    const l = this.loss(images, this.sampleMask(images.shape[0], rng));
    ag.backward(l);
    this.opt.step();
    return l.item();
  }

  evalLoss(images: Tensor, rng: Rng): number {
    return ag.noGrad(() => this.loss(images, this.sampleMask(images.shape[0], rng)).item());
  }

  /** The encoder's weights alone (what ships in weights/encoder.qwm). */
  encoderWeights(): WeightMap {
    return new Map([...this.weights].filter(([n]) => n.startsWith('encoder.')));
  }
}
