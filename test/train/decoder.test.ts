import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/env/dataset/generate.js';
import type { EncoderConfig } from '../../src/nn/config.js';
import { Decoder, initDecoderWeights } from '../../src/nn/decoder.js';
import { tensorFns } from '../../src/nn/fn.js';
import { loadWorldModel } from '../../src/nn/model-file.js';
import { initWeights } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import { nodePlatform } from '../../src/platform/node.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { DecoderTrainer, attachDecoder, trainDecoder, type DecoderHistory } from '../../src/train/decoder.js';
import { compactWmConfig } from '../../src/train/wm.js';

// 16 px frames, 8 px patches: a 2x2 grid of 8-d tokens; decoder 3 stages -> 16 px
const enc: EncoderConfig = { inputSize: 16, patchSize: 8, dim: 8, depth: 1, heads: 2, mlpDim: 16, lnEps: 1e-6, posGrid: 2, posOffset: 0.1 };
const ds = generateDataset({ env: 'wall', trajectories: 12, steps: 20, seed: 3 });
const cfg = compactWmConfig('wall', enc, 1, ds.proprioDim, ds.actionDim);
const stats = { proprioMean: Float32Array.from(ds.stats.proprio.mean), proprioStd: Float32Array.from(ds.stats.proprio.std), actionMean: Float32Array.from(ds.stats.action.mean), actionStd: Float32Array.from(ds.stats.action.std) };
const wm = new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(5)), stats);
const decoder = { channels: 8, stages: 3 };

function run(dir: string, stopAt?: number): Promise<{ bytes: Uint8Array; model: WorldModel; history: DecoderHistory[] }> {
  let n = 0;
  return trainDecoder({
    platform: nodePlatform,
    model: wm,
    meta: { made_by: 'test wm' },
    dataset: ds,
    decoder,
    out: join(dir, 'wm-dec.qwm'),
    epochs: 3,
    batch: 8,
    lr: 3e-3,
    seed: 1,
    frames: 64,
    valFrames: 16,
    checkpointEvery: 3,
    command: 'test',
    onProgress: (p) => {
      if (p.phase.startsWith('epoch') && ++n === stopAt) throw new Error('killed');
    },
  });
}

describe('decoder training on detached latents', () => {
  it('lowers the reconstruction loss, writes a model that decodes, and a killed run resumes to the same bits', async () => {
    const a = await run(mkdtempSync(join(tmpdir(), 'qwm-dec-')));
    expect(a.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(a.history[2].train).toBeLessThan(a.history[0].train);
    expect(a.history[2].val).toBeLessThan(a.history[0].val);
    // the frozen world model is untouched: every non-decoder tensor is the input's, bit for bit
    const { model, meta } = loadWorldModel(a.bytes);
    expect(model.config.decoder).toEqual(decoder);
    for (const [n, t] of wm.weights) expect(Array.from(model.weights.get(n)!.f32), n).toEqual(Array.from(t.f32));
    expect(meta.made_by).toBe('test wm');
    expect(((meta.decoder as { training: { history: unknown[] } }).training.history).length).toBe(3);
    const img = model.decode(new Rng(9).normalTensor([2, model.visualSize]));
    expect(img.dtype).toBe('u8');
    expect(img.shape).toEqual([2, 16, 16, 3]);

    // 8 batches per epoch, checkpoints after batches 3 and 6: killed at batch 4 of epoch 2, after
    // its step and before any save, then resumed by the same call from epoch 2, batch 3
    const dir = mkdtempSync(join(tmpdir(), 'qwm-dec-'));
    await expect(run(dir, 8 + 4)).rejects.toThrow('killed');
    const b = await run(dir);
    const mb = loadWorldModel(b.bytes).model;
    for (const [n, t] of model.weights) expect(Array.from(mb.weights.get(n)!.f32), n).toEqual(Array.from(t.f32));
    expect(b.history).toEqual(a.history);
  });

  it('a checkpoint of another decoder shape is refused, not mixed in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwm-dec-'));
    await expect(run(dir, 4)).rejects.toThrow('killed');
    const other = trainDecoder({ platform: nodePlatform, model: wm, meta: {}, dataset: ds, decoder: { channels: 4, stages: 3 }, out: join(dir, 'wm-dec.qwm'), epochs: 1, batch: 8, lr: 3e-3, seed: 1, frames: 64, valFrames: 0, checkpointEvery: 3, command: 'test' });
    await expect(other).rejects.toThrow(/delete it to start afresh/);
  });

  it('the trainer registers exactly the decoder tensors, its loss is the MSE to the target, and a step lowers it', () => {
    const w = initDecoderWeights(decoder, 8, new Rng(3));
    const d = new Decoder(decoder, 8, 2, w);
    const t = new DecoderTrainer(d, 1e-2);
    expect(t.opt.params.map((p) => p.value)).toEqual(d.tensors());
    const z = new Rng(4).normalTensor([2, 4, 8]);
    const target = new Tensor('f32', [2, 3, 16, 16]);
    const y = d.forwardTokens(tensorFns, z); // = the Var forward bit for bit (test/nn/decoder.test.ts)
    let mse = 0;
    for (const v of y.f32) mse += v * v;
    const before = t.evalLoss(z, target);
    // float32 mean of y^2 vs its float64 sum: relative 2^-24 * log2(n) at most, well inside 1e-6
    expect(Math.abs(before - mse / y.size)).toBeLessThanOrEqual(1e-6 * before);
    t.step(z, target);
    expect(t.evalLoss(z, target)).toBeLessThan(before);
    expect(() => t.loss(z, new Tensor('f32', [2, 3, 8, 8]))).toThrow(/target must be \(2, 3, 16, 16\)/);
  });
});

describe('attachDecoder (train decoder --from)', () => {
  it('gives another model on the same encoder the donor decoder, bit for bit, and refuses other encoders or envs', async () => {
    const donor = loadWorldModel((await run(mkdtempSync(join(tmpdir(), 'qwm-dec-')))).bytes);
    // a second world model: same encoder, other predictor weights
    const w2 = initWeights(worldModelSpec(cfg), new Rng(6));
    for (const [n, t] of wm.weights) if (n.startsWith('encoder.')) w2.set(n, t);
    const other = new WorldModel(cfg, w2, stats);
    const meta = { dataset: { env: 'wall' } };
    const got = loadWorldModel(attachDecoder(other, meta, donor.model, donor.meta, 'donor.qwm'));
    for (const [n, t] of got.model.weights) {
      const src = n.startsWith('decoder.') ? donor.model.weights.get(n)! : other.weights.get(n)!;
      expect(Array.from(t.f32), n).toEqual(Array.from(src.f32));
    }
    const lat = new Tensor('f32', [1, got.model.P, got.model.Dv], Float32Array.from({ length: got.model.P * got.model.Dv }, (_, i) => Math.sin(i)));
    expect(Array.from(got.model.decode(lat).data)).toEqual(Array.from(donor.model.decode(lat).data));
    expect((got.meta.decoder as { copied_from: string }).copied_from).toBe('donor.qwm');
    const w3 = initWeights(worldModelSpec(cfg), new Rng(7)); // its own (different) encoder
    expect(() => attachDecoder(new WorldModel(cfg, w3, stats), meta, donor.model, donor.meta, 'donor.qwm')).toThrow(/differs: its decoder was trained on another encoder/);
    expect(() => attachDecoder(other, { dataset: { env: 'pusht' } }, donor.model, { decoder: { dataset: { env: 'wall' } } }, 'donor.qwm')).toThrow(/trained on wall frames, the model on pusht/);
    expect(() => attachDecoder(other, meta, other, {}, 'plain.qwm')).toThrow(/has no decoder/);
  });
});
