import { ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import { dinoWmEncoderResize, toFloatImage } from '../tensor/ops/image.js';
import { resizeImage } from '../tensor/ops/resize.js';
import { Tensor } from '../tensor/tensor.js';
import type { Latent, Observation, Rollout } from '../plan/types.js';
import type { DifferentiableModel } from '../plan/gd.js';
import type { ObjectiveSettings } from '../plan/objective.js';
import * as ag from '../tensor/autograd/index.js';
import { varFns } from './var-fns.js';
import { numPatches, patchesPerSide, tokenDim, validateConfig, wmActionDim, type WorldModelConfig } from './config.js';
import { Decoder, imageToU8 } from './decoder.js';
import { Encoder, encoderSpec } from './encoder.js';
import { tensorFns, type Fns } from './fn.js';
import { Linear } from './linear.js';
import { Predictor, predictorSpec } from './predictor.js';
import { take, type ParamSpec, type WeightMap } from './weights.js';

/** Dataset statistics the model normalises with (stored in the weight file). */
export interface NormStats {
  proprioMean: Float32Array;
  proprioStd: Float32Array;
  actionMean: Float32Array;
  actionStd: Float32Array;
}

export function worldModelSpec(c: WorldModelConfig): ParamSpec {
  return [
    ...encoderSpec(c.encoder),
    ...predictorSpec(c.predictor, numPatches(c.encoder), tokenDim(c)),
    ['action_encoder.weight', [c.actionEmbDim, wmActionDim(c)], 'linear'],
    ['action_encoder.bias', [c.actionEmbDim], 'zeros'],
    ['proprio_encoder.weight', [c.proprioEmbDim, c.proprioDim], 'linear'],
    ['proprio_encoder.bias', [c.proprioEmbDim], 'zeros'],
  ];
}

/** A Linear of the model with where it sits, for quantization plans. */
export interface NamedLinear {
  linear: Linear;
  module: 'encoder' | 'predictor';
  block: number;
  role: 'qkv' | 'proj' | 'fc1' | 'fc2';
}

/**
 * DINO-WM (reference/quantwm-dinowm-spec.md B): frozen ViT encoder, action and proprio encoders
 * (Linear to 10 each, tiled onto every patch), frame-causal predictor. Tokens are laid out
 * [visual | proprio | action]. Implements the planner's PlanningModel.
 */
export class WorldModel implements DifferentiableModel {
  readonly encoder: Encoder;
  readonly predictor: Predictor;
  readonly actionEncoder: Linear;
  readonly proprioEncoder: Linear;
  /** the visualisation decoder (src/nn/decoder.ts): built when config.decoder is set and decoder.conv_in.weight exists */
  readonly decoder: Decoder | null;
  readonly P: number;
  readonly Dv: number;
  readonly D: number;
  readonly actionDim: number;
  readonly visualSize: number;
  readonly proprioSize: number;

  constructor(
    readonly config: WorldModelConfig,
    readonly weights: WeightMap,
    readonly stats: NormStats,
  ) {
    validateConfig(config);
    const c = config;
    this.P = numPatches(c.encoder);
    this.Dv = c.encoder.dim;
    this.D = tokenDim(c);
    this.actionDim = wmActionDim(c);
    this.visualSize = this.P * this.Dv;
    this.proprioSize = c.proprioEmbDim;
    this.encoder = new Encoder(c.encoder, weights);
    this.predictor = new Predictor(c.predictor, this.P, this.D, weights);
    this.actionEncoder = new Linear('action_encoder', take(weights, 'action_encoder.weight', [c.actionEmbDim, this.actionDim]), take(weights, 'action_encoder.bias', [c.actionEmbDim]));
    this.proprioEncoder = new Linear('proprio_encoder', take(weights, 'proprio_encoder.weight', [c.proprioEmbDim, c.proprioDim]), take(weights, 'proprio_encoder.bias', [c.proprioEmbDim]));
    this.decoder = c.decoder && weights.has('decoder.conv_in.weight') ? new Decoder(c.decoder, this.Dv, patchesPerSide(c.encoder), weights) : null;
    for (const [k, n] of [['proprioMean', c.proprioDim], ['proprioStd', c.proprioDim], ['actionMean', c.envActionDim], ['actionStd', c.envActionDim]] as const) {
      if (stats[k].length !== n) throw new ShapeError('WorldModel', `stats.${k} has ${stats[k].length} values, expected ${n}`);
    }
  }

  /** The 4 Linears per block of encoder and predictor: what QuantWM quantizes. */
  linears(): NamedLinear[] {
    const roles = ['qkv', 'proj', 'fc1', 'fc2'] as const;
    const of = (module: 'encoder' | 'predictor', ls: Linear[]): NamedLinear[] => ls.map((linear, i) => ({ linear, module, block: Math.floor(i / 4), role: roles[i % 4] }));
    return [...of('encoder', this.encoder.linears()), ...of('predictor', this.predictor.linears())];
  }

  /**
   * uint8 observations to the encoder's input: [-1, 1], then resized to the encoder input size
   * (DINO-WM: bilinear with antialias, 224 -> 196).
   * @param images (B, imageSize, imageSize, 3) u8
   * @returns (B, 3, inputSize, inputSize)
   */
  preprocess(images: Tensor): Tensor<'f32'> {
    const s = this.config.imageSize;
    if (images.dtype !== 'u8' || images.ndim !== 4 || images.shape[1] !== s || images.shape[2] !== s || images.shape[3] !== 3) {
      throw new ShapeError('WorldModel.preprocess', `images must be u8 (B, ${s}, ${s}, 3), got ${images.dtype} ${fmtShape(images.shape)}`);
    }
    const x = toFloatImage(images);
    const S = this.config.encoder.inputSize;
    if (S === s) return x;
    return S === 196 && s === 224 ? dinoWmEncoderResize(x) : resizeImage(x, [S, S], { mode: 'bilinear', antialias: true });
  }

  /** (p - mean) / std in float32, (B, proprioDim). */
  normalizeProprio(p: Float32Array, B: number): Tensor<'f32'> {
    const d = this.config.proprioDim;
    if (p.length !== B * d) throw new ShapeError('WorldModel.normalizeProprio', `${p.length} values for (${B}, ${d})`);
    const out = new Float32Array(p.length);
    for (let i = 0; i < p.length; i++) {
      if (!Number.isFinite(p[i])) throw new ValueError('WorldModel.normalizeProprio', `proprio[${i}] = ${p[i]}`);
      out[i] = (p[i] - this.stats.proprioMean[i % d]) / this.stats.proprioStd[i % d];
    }
    return new Tensor('f32', [B, d], out);
  }

  /** x (S, T, E) -> (S, T, P, E), the same embedding on every patch. */
  tileOverPatches<T>(F: Fns<T>, x: T): T {
    const [S, T, E] = F.shape(x);
    return F.add(F.reshape(x, [S, T, 1, E]), F.constant(new Tensor('f32', [1, 1, this.P, E])));
  }

  /**
   * One frame of tokens [visual | proprio emb | action emb].
   * @param vis (S, 1, P, Dv)  @param prop (S, 1, Ep)  @param act (S, 1, Ea)
   */
  tokens<T>(F: Fns<T>, vis: T, prop: T, act: T): T {
    return F.concat([vis, this.tileOverPatches(F, prop), this.tileOverPatches(F, act)], 3);
  }

  /**
   * DINO-WM rollout (B.5), generic in the value type so the gradient-descent planner can
   * differentiate it w.r.t. the actions.
   * @param vis0 (S, 1, P, Dv) encoded current frame   @param prop0 (S, 1, Ep) its proprio embedding
   * @param actions (S, H, A) normalised actions
   * @returns z (S, H+1, P, D): frame 0 encoded, frames 1..H predicted
   */
  rolloutF<T>(F: Fns<T>, vis0: T, prop0: T, actions: T): T {
    const [S, H] = F.shape(actions);
    const Dp = this.Dv + this.config.proprioEmbDim;
    const nh = this.config.predictor.numFrames;
    const actEmb = this.actionEncoder.forward(F, actions); // (S, H, Ea)
    let z = this.tokens(F, vis0, prop0, F.slice(actEmb, 1, 0, 1));
    for (let t = 0; t < H; t++) {
      const T = t + 1;
      const pred = this.predictor.forward(F, T > nh ? F.slice(z, 1, T - nh, T) : z);
      const Tp = F.shape(pred)[1];
      let next = F.slice(pred, 1, Tp - 1, Tp); // (S, 1, P, D)
      if (t < H - 1) {
        // the next frame's action channels are the encoding of the next action (B.5)
        next = F.concat([F.slice(next, 3, 0, Dp), this.tileOverPatches(F, F.slice(actEmb, 1, t + 1, t + 2))], 3);
      }
      z = F.concat([z, next], 1);
    }
    if (F.shape(z)[0] !== S) throw new ShapeError('rollout', 'batch changed');
    return z;
  }

  /** Encode observations: (B, P, Dv) patch tokens and (B, Ep) proprio embeddings. */
  encodeBatch<T>(F: Fns<T>, images: Tensor, proprio: Float32Array): { visual: T; proprio: T } {
    const B = images.shape[0];
    const visual = this.encoder.forward(F, F.constant(this.preprocess(images)));
    const prop = this.proprioEncoder.forward(F, F.constant(this.normalizeProprio(proprio, B)));
    return { visual, proprio: prop };
  }

  /**
   * Decode visual latents to images with the visualisation decoder (B.6; never used by the planner).
   * @param visual (B, P·Dv) or (B, P, Dv), e.g. frames of Rollout.visual
   * @returns (B, S, S, 3) u8, S = patches per side · 2^decoder.stages
   */
  decode(visual: Tensor<'f32'>): Tensor<'u8'> {
    if (!this.decoder) throw new ValueError('WorldModel.decode', `model ${this.config.name} has no decoder (train one with \`quantwm train decoder\`)`);
    const s = visual.shape;
    const ok = visual.dtype === 'f32' && ((s.length === 2 && s[1] === this.visualSize) || (s.length === 3 && s[1] === this.P && s[2] === this.Dv));
    if (!ok) throw new ShapeError('WorldModel.decode', `visual must be f32 (B, ${this.visualSize}) or (B, ${this.P}, ${this.Dv}), got ${visual.dtype} ${fmtShape(s)}`);
    return imageToU8(this.decoder.forwardTokens(tensorFns, visual.reshape([s[0], this.P, this.Dv])));
  }

  // ---- PlanningModel --------------------------------------------------------------------------

  encode(obs: Observation): Latent {
    const s = this.config.imageSize;
    if (obs.image.length !== s * s * 3) throw new ShapeError('WorldModel.encode', `image has ${obs.image.length} bytes, expected ${s}x${s}x3`);
    const { visual, proprio } = this.encodeBatch(tensorFns, new Tensor('u8', [1, s, s, 3], obs.image), obs.proprio);
    return { visual: visual.f32, proprio: proprio.f32 };
  }

  /** The current frame's latent repeated for S samples: visual (S, 1, P, Dv), proprio (S, 1, Ep). */
  private repeatLatent(z0: Latent, S: number): { vis: Tensor<'f32'>; prop: Tensor<'f32'> } {
    const rep = (src: Float32Array, shape: number[]): Tensor<'f32'> => {
      const out = new Float32Array(S * src.length);
      for (let i = 0; i < S; i++) out.set(src, i * src.length);
      return new Tensor('f32', [S, ...shape], out);
    };
    return { vis: rep(z0.visual, [1, this.P, this.Dv]), prop: rep(z0.proprio, [1, this.proprioSize]) };
  }

  rollout(z0: Latent, actions: Float32Array, S: number, H: number, frames: 'all' | 'last'): Rollout {
    const A = this.actionDim;
    if (z0.visual.length !== this.visualSize || z0.proprio.length !== this.proprioSize) {
      throw new ShapeError('WorldModel.rollout', `latent (${z0.visual.length}, ${z0.proprio.length}) != (${this.visualSize}, ${this.proprioSize})`);
    }
    if (actions.length !== S * H * A) throw new ShapeError('WorldModel.rollout', `${actions.length} action values for (${S}, ${H}, ${A})`);
    const F = tensorFns;
    const { vis, prop } = this.repeatLatent(z0, S);
    const z = F.scope(() => this.rolloutF(F, vis, prop, new Tensor('f32', [S, H, A], actions)));
    const nf = frames === 'all' ? H + 1 : 1;
    const zz = frames === 'all' ? z : F.slice(z, 1, H, H + 1);
    return {
      frames: nf,
      visual: F.slice(zz, 3, 0, this.Dv).f32,
      proprio: F.slice(F.slice(zz, 2, 0, 1), 3, this.Dv, this.Dv + this.proprioSize).f32, // patch 0 (separate_emb)
    };
  }

  /**
   * Planning objective (mode 'last') and its gradient w.r.t. the actions, through the frozen model
   * (d sum(cost) / d actions; DINO-WM's GD planner).
   */
  costAndGrad(z0: Latent, goal: Latent, actions: Float32Array, S: number, H: number, obj: ObjectiveSettings): { cost: Float64Array; grad: Float32Array } {
    if (obj.mode !== 'last') throw new ValueError('costAndGrad', `only objective mode 'last' is differentiated, got '${obj.mode}'`);
    const F = varFns(new ag.ParamSet(false));
    const z0s = this.repeatLatent(z0, S);
    const a = ag.param(new Tensor('f32', [S, H, this.actionDim], actions.slice()));
    const z = this.rolloutF(F, ag.constant(z0s.vis), ag.constant(z0s.prop), a);
    const last = ag.slice(z, 1, H, H + 1); // (S, 1, P, D)
    const vis = ag.reshape(ag.slice(last, 3, 0, this.Dv), [S, this.visualSize]);
    const pro = ag.reshape(ag.slice(ag.slice(last, 2, 0, 1), 3, this.Dv, this.Dv + this.proprioSize), [S, this.proprioSize]);
    const dv = ag.sub(vis, ag.constant(new Tensor('f32', [1, this.visualSize], goal.visual)));
    const dp = ag.sub(pro, ag.constant(new Tensor('f32', [1, this.proprioSize], goal.proprio)));
    const perSample = ag.add(ag.mean(ag.mul(dv, dv), 1), ag.scale(ag.mean(ag.mul(dp, dp), 1), obj.alpha)); // (S)
    ag.backward(ag.sum(perSample));
    return { cost: Float64Array.from(perSample.value.f32), grad: a.grad!.f32 };
  }
}
