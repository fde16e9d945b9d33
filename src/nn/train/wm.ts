import * as ag from '../../tensor/autograd/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { varFns } from '../var-fns.js';
import type { WorldModel } from '../world-model.js';

export interface WmTrainOptions {
  /** predictor, action and proprio encoders: AdamW (code: 5e-4) */
  lr: number;
  weightDecay: number;
}

export const DEFAULT_WM_TRAIN: WmTrainOptions = { lr: 5e-4, weightDecay: 0.01 };

/**
 * DINO-WM world-model training (reference/quantwm-dinowm-spec.md B.7) on frozen, cached encoder
 * features: z = encode(obs, act); pred = predictor(z[:, :H]); loss = MSE over the visual and
 * proprio channels of z[:, 1:] (detached), teacher forcing on every frame of the window.
 */
export class WmTrainer {
  readonly params = new ag.ParamSet(true);
  readonly opt: ag.AdamW;
  private readonly F = varFns(this.params);

  constructor(
    readonly model: WorldModel,
    o: WmTrainOptions = DEFAULT_WM_TRAIN,
  ) {
    // Register the trainable tensors (the encoder stays frozen and is never touched).
    const m = model;
    const trainable: Tensor<'f32'>[] = [m.actionEncoder.weight, m.actionEncoder.bias!, m.proprioEncoder.weight, m.proprioEncoder.bias!, m.predictor.pos];
    for (const b of m.predictor.blocks) {
      trainable.push(b.norm1.weight, b.norm1.bias, b.attn.qkv.weight, b.attn.proj.weight, b.attn.proj.bias!, b.norm2.weight, b.norm2.bias, b.mlp.fc1.weight, b.mlp.fc1.bias!, b.mlp.fc2.weight, b.mlp.fc2.bias!);
    }
    trainable.push(m.predictor.norm.weight, m.predictor.norm.bias);
    for (const t of trainable) this.params.of(t);
    this.opt = new ag.AdamW(this.params.vars(), { lr: o.lr, weightDecay: o.weightDecay });
  }

  /**
   * Teacher-forcing loss of a batch of windows.
   * @param visual (B, F, P, Dv) frozen features  @param proprio (B, F, pd) normalised  @param actions (B, F, A) normalised
   */
  loss(visual: Tensor<'f32'>, proprio: Tensor<'f32'>, actions: Tensor<'f32'>): ag.Var {
    const F = this.F;
    const m = this.model;
    const T = visual.shape[1];
    const pEmb = m.proprioEncoder.forward(F, F.constant(proprio)); // (B, T, Ep)
    const aEmb = m.actionEncoder.forward(F, F.constant(actions)); // (B, T, Ea)
    const z = F.concat([F.constant(visual), m.tileOverPatches(F, pEmb), m.tileOverPatches(F, aEmb)], 3); // (B, T, P, D)
    const H = T - 1;
    const pred = m.predictor.forward(F, F.slice(z, 1, 0, H));
    const keep = m.Dv + m.config.proprioEmbDim;
    const target = ag.constant(F.slice(z, 1, 1, T).value); // detached, as z_tgt.detach()
    return ag.mseLoss(F.slice(pred, 3, 0, keep), ag.slice(target, 3, 0, keep));
  }

  /** One AdamW step; returns the batch loss. */
  step(visual: Tensor<'f32'>, proprio: Tensor<'f32'>, actions: Tensor<'f32'>): number {
    this.opt.zeroGrad();
    const l = this.loss(visual, proprio, actions);
    ag.backward(l);
    this.opt.step();
    return l.item();
  }

  /** Loss without gradients (validation). */
  evalLoss(visual: Tensor<'f32'>, proprio: Tensor<'f32'>, actions: Tensor<'f32'>): number {
    return ag.noGrad(() => this.loss(visual, proprio, actions).item());
  }
}
