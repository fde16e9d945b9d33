import type { WorldModelConfig } from './config.js';

/**
 * The compact family trained and shipped by quantwm (docs/models.md): DINO-WM's structure at a
 * size a 2-core CPU trains in about an hour and plans with in seconds per CEM step.
 */
export function compactConfig(name: string, o: { proprioDim: number; numFrames: number; imageSize?: number; patchSize?: number; dim?: number }): WorldModelConfig {
  const imageSize = o.imageSize ?? 64;
  const dim = o.dim ?? 64;
  const patchSize = o.patchSize ?? 16;
  return {
    name,
    imageSize,
    encoder: { inputSize: imageSize, patchSize, dim, depth: 3, heads: 2, mlpDim: 4 * dim, lnEps: 1e-6, posGrid: imageSize / patchSize, posOffset: 0.1 },
    predictor: { numFrames: o.numFrames, depth: 3, heads: 4, dimHead: 32, mlpDim: 4 * (dim + 20), lnEps: 1e-5 },
    proprioDim: o.proprioDim,
    envActionDim: 2,
    frameskip: 5,
    actionEmbDim: 10,
    proprioEmbDim: 10,
    decoder: null,
  };
}
