import { ValueError } from '../tensor/errors.js';

/** A DINOv2-shaped ViT encoder (reference/quantwm-dinowm-spec.md B.2). */
export interface EncoderConfig {
  /** side of the square image the encoder sees after the model's own resize (196 for DINO-WM) */
  inputSize: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpDim: number;
  /** LayerNorm eps: 1e-6 in DINOv2 */
  lnEps: number;
  /** side of the grid the stored positional embedding was trained at (37 for DINOv2's 518 px) */
  posGrid: number;
  /** DINOv2's interpolate_offset (0.1); used only when posGrid differs from the patch grid */
  posOffset: number;
}

/** DINO-WM's frame-causal ViT predictor (B.4). */
export interface PredictorConfig {
  /** frames in the history window (num_hist) */
  numFrames: number;
  depth: number;
  heads: number;
  dimHead: number;
  mlpDim: number;
  /** LayerNorm eps: 1e-5 in the predictor */
  lnEps: number;
}

/** Visualisation decoder: latent grid -> image (B.6, reduced). */
export interface DecoderConfig {
  /** channels of the hidden convolutions */
  channels: number;
  /** number of x2 transposed-conv upsampling stages (patchSize = 2^stages) */
  stages: number;
}

export interface WorldModelConfig {
  name: string;
  /** side of the env observation image fed to the model (224 for DINO-WM) */
  imageSize: number;
  encoder: EncoderConfig;
  predictor: PredictorConfig;
  /** raw proprio dims (Wall 2, PointMaze 4, PushT 4) */
  proprioDim: number;
  /** env action dims (2) */
  envActionDim: number;
  /** env steps per world-model step (5); WM action = frameskip * envActionDim */
  frameskip: number;
  actionEmbDim: number;
  proprioEmbDim: number;
  decoder: DecoderConfig | null;
}

export function patchesPerSide(c: EncoderConfig): number {
  return c.inputSize / c.patchSize;
}
export function numPatches(c: EncoderConfig): number {
  return patchesPerSide(c) ** 2;
}
export function wmActionDim(c: WorldModelConfig): number {
  return c.envActionDim * c.frameskip;
}
/** predictor token width: [visual | proprio emb | action emb] */
export function tokenDim(c: WorldModelConfig): number {
  return c.encoder.dim + c.proprioEmbDim + c.actionEmbDim;
}

/** DINO-WM with DINOv2 ViT-S/14: 224 px observations resized to 196, 14x14 patches of 384 (B.2-B.4). */
export function dinowmVits14(proprioDim: number, numFrames: number): WorldModelConfig {
  return {
    name: 'dinowm-vits14',
    imageSize: 224,
    encoder: { inputSize: 196, patchSize: 14, dim: 384, depth: 12, heads: 6, mlpDim: 1536, lnEps: 1e-6, posGrid: 37, posOffset: 0.1 },
    predictor: { numFrames, depth: 6, heads: 16, dimHead: 64, mlpDim: 2048, lnEps: 1e-5 },
    proprioDim,
    envActionDim: 2,
    frameskip: 5,
    actionEmbDim: 10,
    proprioEmbDim: 10,
    decoder: null,
  };
}

/** Check the invariants every model relies on; the error names the field. */
export function validateConfig(c: WorldModelConfig): void {
  const where = `config ${c.name}`;
  const pos = (k: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new ValueError(where, `${k} must be a positive integer, got ${v}`);
  };
  const e = c.encoder;
  const p = c.predictor;
  for (const [k, v] of Object.entries({ imageSize: c.imageSize, inputSize: e.inputSize, patchSize: e.patchSize, dim: e.dim, depth: e.depth, heads: e.heads, mlpDim: e.mlpDim, posGrid: e.posGrid, numFrames: p.numFrames, predDepth: p.depth, predHeads: p.heads, dimHead: p.dimHead, predMlp: p.mlpDim, proprioDim: c.proprioDim, envActionDim: c.envActionDim, frameskip: c.frameskip, actionEmbDim: c.actionEmbDim, proprioEmbDim: c.proprioEmbDim })) pos(k, v);
  if (e.inputSize % e.patchSize !== 0) throw new ValueError(where, `inputSize ${e.inputSize} is not a multiple of patchSize ${e.patchSize}`);
  if (e.dim % e.heads !== 0) throw new ValueError(where, `encoder dim ${e.dim} is not divisible by ${e.heads} heads`);
  if (!(e.lnEps > 0) || !(p.lnEps > 0)) throw new ValueError(where, 'LayerNorm eps must be > 0');
}
