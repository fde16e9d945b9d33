/**
 * The full-size dinowm-vits14 with cheap random weights, one definition for the test that builds it
 * (test/nn/golden.test.ts, "full-size dinowm-vits14") and for `npm run bench:model`.
 * Not a test file (no `.test.ts`): a helper both import.
 */
import { dinowmVits14, type WorldModelConfig } from '../../src/nn/config.js';
import type { ParamSpec, WeightMap } from '../../src/nn/weights.js';
import type { NormStats } from '../../src/nn/world-model.js';
import { Tensor } from '../../src/tensor/tensor.js';

/** DINO-WM's published shapes: 4-d proprio, 2-d actions, num_hist 3. */
export function fullSizeConfig(): WorldModelConfig {
  return dinowmVits14(4, 3);
}

/** Identity normalisation for fullSizeConfig's 4-d proprio and 2-d actions. */
export function unitStats(): NormStats {
  return { proprioMean: new Float32Array(4), proprioStd: new Float32Array(4).fill(1), actionMean: new Float32Array(2), actionStd: new Float32Array(2).fill(1) };
}

/**
 * Weights with initWeights' scales without its truncated normals (10 s for 42M values here):
 * uniform in [-0.02 sqrt 3, 0.02 sqrt 3] (std 0.02) from xorshift32 for Linear/pos/CLS,
 * LayerNorm gammas 1, betas 0, LayerScale 0.1.
 * @param spec (name, shape, kind) rows, e.g. worldModelSpec(fullSizeConfig())
 * @param seed xorshift32 state (0 is replaced by 1)
 */
export function uniformWeights(spec: ParamSpec, seed: number): WeightMap {
  let s = seed >>> 0 || 1;
  const w: WeightMap = new Map();
  for (const [name, shape, kind] of spec) {
    const t = new Tensor('f32', shape);
    const d = t.f32;
    if (kind === 'ones') d.fill(1);
    else if (kind === 'ls') d.fill(0.1);
    else if (kind !== 'zeros') {
      for (let i = 0; i < d.length; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        d[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 0.02 * 2 * Math.sqrt(3);
      }
    }
    w.set(name, t);
  }
  return w;
}
