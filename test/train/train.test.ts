import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/env/dataset/generate.js';
import type { EncoderConfig } from '../../src/nn/config.js';
import { encoderSpec } from '../../src/nn/encoder.js';
import { loadWorldModel, readModelFile } from '../../src/nn/model-file.js';
import { initWeights } from '../../src/nn/weights.js';
import { nodePlatform } from '../../src/platform/node.js';
import { Rng } from '../../src/tensor/rng.js';
import { trainEncoder } from '../../src/train/encoder.js';
import { trainWorldModel } from '../../src/train/wm.js';

const enc: EncoderConfig = { inputSize: 16, patchSize: 8, dim: 8, depth: 1, heads: 2, mlpDim: 16, lnEps: 1e-6, posGrid: 2, posOffset: 0.1 };
const ds = generateDataset({ env: 'wall', trajectories: 12, steps: 20, seed: 3 });

function wmRun(dir: string, stopAt?: number): Promise<{ bytes: Uint8Array; history: { epoch: number; train: number; val: number }[] }> {
  let n = 0;
  return trainWorldModel({
    platform: nodePlatform,
    dataset: ds,
    encoder: { config: enc, weights: initWeights(encoderSpec(enc), new Rng(5)) },
    out: join(dir, 'wm.qwm'),
    numHist: 1,
    epochs: 2,
    batch: 8,
    lr: 3e-3,
    seed: 1,
    checkpointEvery: 3,
    valWindows: 16,
    command: 'test',
    onProgress: (p) => {
      if (p.phase.startsWith('epoch') && ++n === stopAt) throw new Error('killed');
    },
  });
}

describe('world-model training', () => {
  it('lowers the loss, records its history, and a killed run resumes to the same weights', async () => {
    const a = await wmRun(mkdtempSync(join(tmpdir(), 'qwm-train-')));
    expect(a.history.length).toBe(2);
    expect(a.history[1].train).toBeLessThan(a.history[0].train);
    const { model, meta } = loadWorldModel(a.bytes);
    expect(model.config.predictor.numFrames).toBe(1);
    expect((meta.training as { history: unknown[] }).history.length).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), 'qwm-train-'));
    // killed in epoch 1 after the checkpoint at batch 3, then resumed by the same call
    await expect(wmRun(dir, 5)).rejects.toThrow('killed');
    const b = await wmRun(dir);
    const ma = loadWorldModel(a.bytes).model;
    const mb = loadWorldModel(b.bytes).model;
    for (const [name, t] of ma.weights) expect(Array.from(mb.weights.get(name)!.f32), name).toEqual(Array.from(t.f32));
    expect(b.history).toEqual(a.history);
  });
});

describe('encoder pretraining', () => {
  it('lowers the validation loss and writes an encoder-only file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwm-enc-'));
    const r = await trainEncoder({ platform: nodePlatform, datasets: [ds], config: enc, out: join(dir, 'enc.qwm'), steps: 40, batch: 16, lr: 3e-3, maskRatio: 0.5, seed: 2, poolSize: 200, checkpointEvery: 20, command: 'test' });
    expect(r.history.length).toBe(2);
    expect(r.history[1].val).toBeLessThan(r.history[0].val);
    const f = readModelFile(r.bytes);
    expect(f.header.kind).toBe('encoder');
    expect([...f.tensors.keys()].every((k) => k.startsWith('encoder.'))).toBe(true);
  });
});
