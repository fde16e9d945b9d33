import { describe, expect, it } from 'vitest';
import { compactConfig } from '../../src/nn/compact.js';
import { tensorFns } from '../../src/nn/fn.js';
import { frameCausalMask } from '../../src/nn/predictor.js';
import { initWeights, paramCount } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';

function tinyModel(numFrames = 2): WorldModel {
  const cfg = compactConfig('tiny', { proprioDim: 2, numFrames, imageSize: 32, patchSize: 8, dim: 16 });
  const stats = { proprioMean: new Float32Array(2), proprioStd: Float32Array.of(1, 1), actionMean: new Float32Array(2), actionStd: Float32Array.of(1, 1) };
  return new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(1)), stats);
}

function obs(seed: number, s = 32): { image: Uint8Array; proprio: Float32Array } {
  const r = new Rng(seed);
  return { image: Uint8Array.from({ length: s * s * 3 }, () => r.int(256)), proprio: Float32Array.of(r.uniform(), r.uniform()) };
}

describe('frame-causal mask', () => {
  it('token i sees exactly the patches of its own and earlier frames', () => {
    const m = frameCausalMask(3, 2);
    const rows = [];
    for (let i = 0; i < 6; i++) rows.push(Array.from(m.data.subarray(i * 6, i * 6 + 6)).join(''));
    expect(rows).toEqual(['110000', '110000', '111100', '111100', '111111', '111111']);
  });
});

describe('WorldModel', () => {
  it('has the parameters its spec lists and encodes to (P * Dv, Ep)', () => {
    const m = tinyModel();
    expect(paramCount(m.weights)).toBe(worldModelSpec(m.config).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0));
    const z = m.encode(obs(1));
    expect(z.visual.length).toBe(16 * 16);
    expect(z.proprio.length).toBe(10);
    expect(m.linears().length).toBe(4 * 3 + 4 * 3);
  });
  it('rollout: frame 0 is the encoding, later frames do not depend on later actions (causality)', () => {
    const m = tinyModel(2);
    const z0 = m.encode(obs(2));
    const r = new Rng(3);
    const H = 4;
    const S = 2;
    const a = Float32Array.from({ length: S * H * 10 }, () => r.normal());
    const all = m.rollout(z0, a, S, H, 'all');
    expect(all.frames).toBe(H + 1);
    expect(Array.from(all.visual.subarray(0, m.visualSize))).toEqual(Array.from(z0.visual));
    // change the last action of sample 0: frames 0..H-1 must not change, frame H must
    const b = a.slice();
    b[(H - 1) * 10] += 1;
    const all2 = m.rollout(z0, b, S, H, 'all');
    const V = m.visualSize;
    expect(Array.from(all2.visual.subarray(0, H * V))).toEqual(Array.from(all.visual.subarray(0, H * V)));
    expect(Array.from(all2.visual.subarray(H * V, (H + 1) * V))).not.toEqual(Array.from(all.visual.subarray(H * V, (H + 1) * V)));
    // sample 1 is untouched by sample 0's actions, and 'last' equals the last frame of 'all'
    expect(Array.from(all2.visual.subarray((H + 1) * V))).toEqual(Array.from(all.visual.subarray((H + 1) * V)));
    const last = m.rollout(z0, a, S, H, 'last');
    expect(Array.from(last.visual.subarray(0, V))).toEqual(Array.from(all.visual.subarray(H * V, (H + 1) * V)));
    expect(Array.from(last.proprio.subarray(0, 10))).toEqual(Array.from(all.proprio.subarray(H * 10, (H + 1) * 10)));
  });
  it('a batched rollout equals per-sample rollouts bit for bit', () => {
    const m = tinyModel(2);
    const z0 = m.encode(obs(4));
    const r = new Rng(5);
    const a = Float32Array.from({ length: 3 * 3 * 10 }, () => r.normal());
    const batch = m.rollout(z0, a, 3, 3, 'last');
    for (let s = 0; s < 3; s++) {
      const one = m.rollout(z0, a.slice(s * 30, s * 30 + 30), 1, 3, 'last');
      expect(Array.from(one.visual)).toEqual(Array.from(batch.visual.subarray(s * m.visualSize, (s + 1) * m.visualSize)));
    }
  });
  it('rejects wrong shapes with errors that name them', () => {
    const m = tinyModel();
    expect(() => m.encode({ image: new Uint8Array(5), proprio: new Float32Array(2) })).toThrow(/WorldModel.encode/);
    expect(() => m.rollout(m.encode(obs(1)), new Float32Array(7), 1, 5, 'last')).toThrow(/rollout/);
    expect(() => m.encoder.forward(tensorFns, new Tensor('f32', [1, 3, 8, 8]))).toThrow(/Encoder/);
    expect(() => m.normalizeProprio(Float32Array.of(NaN, 0), 1)).toThrow(/proprio/);
  });
});

describe('model files', () => {
  it('a saved world model loads with the same config, stats and outputs', async () => {
    const { saveWorldModel, loadWorldModel } = await import('../../src/nn/model-file.js');
    const m = tinyModel();
    const bytes = saveWorldModel(m, { made_by: 'test' });
    const { model, meta } = loadWorldModel(bytes);
    expect(meta.made_by).toBe('test');
    expect(model.config).toEqual(m.config);
    const o = obs(11);
    expect(Array.from(model.encode(o).visual)).toEqual(Array.from(m.encode(o).visual));
    // a file that is not a world model is refused with a typed error naming the field
    const { saveEncoder } = await import('../../src/nn/model-file.js');
    const enc = saveEncoder(m.config.encoder, new Map([...m.weights].filter(([k]) => k.startsWith('encoder.'))));
    expect(() => loadWorldModel(enc)).toThrow(/config.quantwm/);
  });
});
