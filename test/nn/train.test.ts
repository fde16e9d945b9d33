import { describe, expect, it } from 'vitest';
import { compactConfig } from '../../src/nn/compact.js';
import { EncoderPretrainer, mimSpec } from '../../src/nn/train/encoder.js';
import { gatherWindows } from '../../src/nn/train/windows.js';
import { WmTrainer } from '../../src/nn/train/wm.js';
import { encoderSpec } from '../../src/nn/encoder.js';
import { initWeights } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';

const cfg = compactConfig('tiny', { proprioDim: 2, numFrames: 1, imageSize: 16, patchSize: 8, dim: 8 });

describe('frame windows', () => {
  it('gather frames frameskip apart and concatenate frameskip actions per frame', () => {
    const lengths = Int32Array.of(10);
    const states = 11;
    const src = {
      lengths,
      features: Float32Array.from({ length: states * 2 }, (_, i) => Math.floor(i / 2)),
      proprio: Float32Array.from({ length: states }, (_, i) => i),
      actions: Float32Array.from({ length: 10 }, (_, i) => 100 + i),
      P: 1,
      Dv: 2,
      proprioDim: 1,
      envActionDim: 1,
    };
    const b = gatherWindows(src, Int32Array.of(0, 0), [0], 2, 5);
    expect(Array.from(b.visual.f32)).toEqual([0, 0, 5, 5]);
    expect(Array.from(b.proprio.f32)).toEqual([0, 5]);
    expect(Array.from(b.actions.f32)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  });
});

describe('training', () => {
  it('SimMIM pretraining lowers the masked-patch loss on a fixed batch', () => {
    const rng = new Rng(1);
    const w = initWeights([...encoderSpec(cfg.encoder), ...mimSpec(cfg.encoder)], rng);
    const t = new EncoderPretrainer(cfg.encoder, w, { lr: 3e-3, weightDecay: 0, maskRatio: 0.5 });
    const imgs = new Tensor('u8', [4, 16, 16, 3], Uint8Array.from({ length: 4 * 16 * 16 * 3 }, (_, i) => (i * 37) % 256));
    const first = t.evalLoss(imgs, new Rng(9));
    for (let i = 0; i < 20; i++) t.step(imgs, new Rng(100 + i));
    expect(t.evalLoss(imgs, new Rng(9))).toBeLessThan(first * 0.9);
    expect([...t.encoderWeights().keys()].every((k) => k.startsWith('encoder.'))).toBe(true);
  });
  it('world-model teacher forcing lowers its loss and leaves the encoder untouched', () => {
    const stats = { proprioMean: new Float32Array(2), proprioStd: Float32Array.of(1, 1), actionMean: new Float32Array(2), actionStd: Float32Array.of(1, 1) };
    const m = new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(3)), stats);
    const before = m.encoder.blocks[0].attn.qkv.weight.f32.slice();
    const tr = new WmTrainer(m, { lr: 3e-3, weightDecay: 0 });
    const r = new Rng(4);
    const vis = r.normalTensor([4, 2, m.P, m.Dv]);
    const pro = r.normalTensor([4, 2, 2]);
    const act = r.normalTensor([4, 2, 10]);
    const first = tr.evalLoss(vis, pro, act);
    for (let i = 0; i < 20; i++) tr.step(vis, pro, act);
    expect(tr.evalLoss(vis, pro, act)).toBeLessThan(first * 0.8);
    expect(Array.from(m.encoder.blocks[0].attn.qkv.weight.f32)).toEqual(Array.from(before));
  });
});
