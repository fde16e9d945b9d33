import * as ag from '../../tensor/autograd/index.js';
import { ValueError } from '../../tensor/errors.js';
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
   * Loss of a batch of windows of H + R frames (H = the predictor's num_hist, R = `rollout`).
   * Step 1 is DINO-WM's teacher-forcing loss: predictor(z[:, :H]) against z[:, 1:H+1] on every
   * frame. Each later step k = 2..R feeds the model its own prediction, as planning does: the last
   * predicted frame's visual and proprio channels, with frame H+k-2's true action embedding, slide
   * into the history, and the next last-frame prediction is compared with z[:, H+k-1].
   * loss = (1/R) * sum of the R step losses; R = 1 is the teacher-forcing loss alone.
   * @param visual (B, H+R, P, Dv) frozen features  @param proprio (B, H+R, pd) normalised  @param actions (B, H+R, A) normalised
   */
  loss(visual: Tensor<'f32'>, proprio: Tensor<'f32'>, actions: Tensor<'f32'>, rollout = 1): ag.Var {
    const F = this.F;
    const m = this.model;
    const T = visual.shape[1];
    const H = T - rollout;
    if (!Number.isInteger(rollout) || rollout < 1 || H < 1) throw new ValueError('WmTrainer.loss', `windows of ${T} frames cannot hold a rollout of ${rollout} steps`);
    const pEmb = m.proprioEncoder.forward(F, F.constant(proprio)); // (B, T, Ep)
    const aEmb = m.actionEncoder.forward(F, F.constant(actions)); // (B, T, Ea)
    const z = F.concat([F.constant(visual), m.tileOverPatches(F, pEmb), m.tileOverPatches(F, aEmb)], 3); // (B, T, P, D)
    const keep = m.Dv + m.config.proprioEmbDim;
    const target = ag.constant(F.slice(z, 1, 1, T).value); // detached, as z_tgt.detach()
    let hist = F.slice(z, 1, 0, H);
    let pred = m.predictor.forward(F, hist);
    let total = ag.mseLoss(F.slice(pred, 3, 0, keep), ag.slice(ag.slice(target, 1, 0, H), 3, 0, keep));
    for (let k = 1; k < rollout; k++) {
      const last = F.slice(F.slice(pred, 1, H - 1, H), 3, 0, keep);
      const next = F.concat([last, F.slice(F.slice(z, 1, H + k - 1, H + k), 3, keep, m.D)], 3);
      hist = H > 1 ? F.concat([F.slice(hist, 1, 1, H), next], 1) : next;
      pred = m.predictor.forward(F, hist);
      total = F.add(total, ag.mseLoss(F.slice(F.slice(pred, 1, H - 1, H), 3, 0, keep), ag.slice(ag.slice(target, 1, H + k - 1, H + k), 3, 0, keep)));
    }
    return rollout === 1 ? total : F.scale(total, 1 / rollout);
  }

  /** One AdamW step; returns the batch loss. */
  step(visual: Tensor<'f32'>, proprio: Tensor<'f32'>, actions: Tensor<'f32'>, rollout = 1): number {
    this.opt.zeroGrad();
    const l = this.loss(visual, proprio, actions, rollout);
    ag.backward(l);
    this.opt.step();
    return l.item();
  }

  /** Loss without gradients (validation). */
  evalLoss(visual: Tensor<'f32'>, proprio: Tensor<'f32'>, actions: Tensor<'f32'>, rollout = 1): number {
    return ag.noGrad(() => this.loss(visual, proprio, actions, rollout).item());
  }
}
