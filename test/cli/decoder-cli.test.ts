import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/run.js';
import { decodeDataset } from '../../src/env/dataset/store.js';
import type { EncoderConfig } from '../../src/nn/config.js';
import { loadWorldModel, saveWorldModel } from '../../src/nn/model-file.js';
import { initWeights } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import { Rng } from '../../src/tensor/rng.js';
import { compactWmConfig } from '../../src/train/wm.js';

const dir = mkdtempSync(join(tmpdir(), 'qwm-dec-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await run(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** GIF89a logical screen size: bytes 6..9, little-endian. */
function gifSize(bytes: Uint8Array): [number, number] {
  expect(new TextDecoder().decode(bytes.subarray(0, 6))).toBe('GIF89a');
  return [bytes[6] | (bytes[7] << 8), bytes[8] | (bytes[9] << 8)];
}

const data = join(dir, 'wall');
const wmFile = join(dir, 'wm.qwm');

beforeAll(async () => {
  expect((await cli('data', 'gen', '--env', 'wall', '--out', data, '--trajectories', '8', '--steps', '20', '--seed', '2')).code).toBe(0);
  const ds = decodeDataset(readFileSync(join(data, 'dataset.qwmd')));
  // a tiny untrained world model at 16 px (2x2 patches of 8 px): the decoder needs 3 stages
  const enc: EncoderConfig = { inputSize: 16, patchSize: 8, dim: 8, depth: 1, heads: 2, mlpDim: 16, lnEps: 1e-6, posGrid: 2, posOffset: 0.1 };
  const cfg = compactWmConfig('wall', enc, 1, ds.proprioDim, ds.actionDim);
  const stats = { proprioMean: Float32Array.from(ds.stats.proprio.mean), proprioStd: Float32Array.from(ds.stats.proprio.std), actionMean: Float32Array.from(ds.stats.action.mean), actionStd: Float32Array.from(ds.stats.action.std) };
  writeFileSync(wmFile, saveWorldModel(new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(1)), stats), { dataset: { env: 'wall' } }));
});

describe('quantwm train decoder / plan --gif with a decoder', () => {
  it('trains a decoder from the CLI, and plan --gif puts [executed | imagined] side by side', async () => {
    const decFile = join(dir, 'wm-dec.qwm');
    const t = await cli('train', 'decoder', '--weights', wmFile, '--data', data, '--out', decFile, '--epochs', '1', '--batch', '8', '--frames', '32', '--channels', '8');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^epoch 1: train \d\.\d{5} val \d\.\d{5} \(PSNR \d+\.\d dB\)$/m);
    const { model, meta } = loadWorldModel(readFileSync(decFile));
    expect(model.config.decoder).toEqual({ channels: 8, stages: 3 });
    expect((meta.decoder as { command: string }).command).toMatch(/^quantwm train decoder --weights /);

    const plan = async (weights: string, gif: string): Promise<Uint8Array> => {
      const r = await cli('plan', '--env', 'wall', '--weights', weights, '--episodes', '1', '--max-iter', '2', '--samples', '4', '--topk', '2', '--opt-steps', '1', '--horizon', '2', '--gif', gif);
      expect(r.code).toBe(0);
      return readFileSync(join(gif, 'episode-000.gif'));
    };
    expect(gifSize(await plan(decFile, mkdtempSync(join(dir, 'gif-'))))).toEqual([32, 16]);
    expect(gifSize(await plan(wmFile, mkdtempSync(join(dir, 'gif-'))))).toEqual([16, 16]);
  });

  it('refuses a dataset of another env and a missing --weights (exit 2, message names the flag)', async () => {
    const pm = join(dir, 'pm');
    expect((await cli('data', 'gen', '--env', 'pointmaze', '--out', pm, '--trajectories', '2', '--steps', '5', '--seed', '1')).code).toBe(0);
    const r = await cli('train', 'decoder', '--weights', wmFile, '--data', pm, '--out', join(dir, 'x.qwm'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--data.*dataset is pointmaze.*trained on wall/);
    const m = await cli('train', 'decoder', '--data', pm, '--out', join(dir, 'x.qwm'));
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/--weights/);
  });
});
