import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatDatasets } from '../../src/env/dataset/dataset.js';
import { generateDataset } from '../../src/env/dataset/generate.js';
import { encodeDataset } from '../../src/env/dataset/store.js';
import { makeEnv } from '../../src/env/registry.js';
import type { EncoderConfig } from '../../src/nn/config.js';
import { encoderSpec } from '../../src/nn/encoder.js';
import { tensorFns } from '../../src/nn/fn.js';
import { loadWorldModel } from '../../src/nn/model-file.js';
import { WmTrainer } from '../../src/nn/train/wm.js';
import { initWeights, type WeightMap } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import { nodePlatform } from '../../src/platform/node.js';
import { cemPlan } from '../../src/plan/cem.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { mineDataset } from '../../src/train/mine.js';
import { compactWmConfig, trainWorldModel } from '../../src/train/wm.js';

const enc: EncoderConfig = { inputSize: 16, patchSize: 8, dim: 8, depth: 1, heads: 2, mlpDim: 16, lnEps: 1e-6, posGrid: 2, posOffset: 0.1 };
const encWeights = initWeights(encoderSpec(enc), new Rng(5));
const ds = generateDataset({ env: 'wall', trajectories: 12, steps: 20, seed: 3 });

function randomModel(seed: number, numHist = 1): WorldModel {
  const cfg = compactWmConfig('wall', enc, numHist, ds.proprioDim, ds.actionDim);
  const w: WeightMap = initWeights(worldModelSpec(cfg), new Rng(seed));
  for (const [n, t] of encWeights) w.set(n, t);
  const f = (v: number[]) => Float32Array.from(v);
  return new WorldModel(cfg, w, { proprioMean: f(ds.stats.proprio.mean), proprioStd: f(ds.stats.proprio.std), actionMean: f(ds.stats.action.mean), actionStd: f(ds.stats.action.std) });
}

describe('multi-step rollout loss', () => {
  it('step k of the training rollout is the planner\'s rollout: loss = mean over steps of the planning predictions\' MSE', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1000 }), (R, B, seed) => {
        const m = randomModel(seed);
        const rng = new Rng(seed + 1);
        const T = 1 + R;
        const P = m.P;
        const Dv = m.Dv;
        const pd = ds.proprioDim;
        const A = m.actionDim;
        const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
        const visual = rand(B * T * P * Dv);
        const proprio = rand(B * T * pd);
        const actions = rand(B * T * A);
        const trainer = new WmTrainer(m);
        const loss = trainer.evalLoss(new Tensor('f32', [B, T, P, Dv], visual), new Tensor('f32', [B, T, pd], proprio), new Tensor('f32', [B, T, A], actions), R);
        // the same prediction through the planning path (WorldModel.rolloutF, inference Fns)
        const Ep = m.proprioSize;
        const D = m.D;
        const pick = (src: Float32Array, n: number, t0: number, t1: number) => {
          const out = new Float32Array(B * (t1 - t0) * n);
          for (let b = 0; b < B; b++) out.set(src.subarray((b * T + t0) * n, (b * T + t1) * n), b * (t1 - t0) * n);
          return out;
        };
        const pEmb = m.proprioEncoder.forward(tensorFns, new Tensor('f32', [B, T, pd], proprio)).f32; // (B, T, Ep)
        const z = m.rolloutF(tensorFns, new Tensor('f32', [B, 1, P, Dv], pick(visual, P * Dv, 0, 1)), new Tensor('f32', [B, 1, Ep], pick(pEmb, Ep, 0, 1)), new Tensor('f32', [B, R, A], pick(actions, A, 0, R))).f32;
        let sum = 0;
        for (let b = 0; b < B; b++) {
          for (let k = 1; k <= R; k++) {
            let se = 0;
            for (let p = 0; p < P; p++) {
              const o = ((b * (R + 1) + k) * P + p) * D;
              for (let i = 0; i < Dv; i++) se += (z[o + i] - visual[((b * T + k) * P + p) * Dv + i]) ** 2;
              for (let i = 0; i < Ep; i++) se += (z[o + Dv + i] - pEmb[(b * T + k) * Ep + i]) ** 2;
            }
            sum += se / (B * P * (Dv + Ep));
          }
        }
        // step 1 averages over all frames of a 1-frame history: the same denominators
        expect(Math.abs(loss - sum / R)).toBeLessThanOrEqual(1e-5 * Math.max(1, sum / R));
      }),
      { numRuns: 12 },
    );
  });

  it('refuses windows too short for the rollout', () => {
    const m = randomModel(1);
    const t = new WmTrainer(m);
    const z = (n: number) => new Tensor('f32', [1, 2, n], new Float32Array(2 * n));
    expect(() => t.loss(new Tensor('f32', [1, 2, m.P, m.Dv], new Float32Array(2 * m.P * m.Dv)), z(ds.proprioDim), z(m.actionDim), 2)).toThrow(/cannot hold a rollout of 2/);
  });
});

describe('fine-tuning (--init)', () => {
  const other = generateDataset({ env: 'wall', trajectories: 6, steps: 30, seed: 9, policy: 'cem' });

  it('starts from the model and keeps its statistics: with lr 0 the written model equals it', async () => {
    const init = randomModel(7);
    const dir = mkdtempSync(join(tmpdir(), 'qwm-ft-'));
    const r = await trainWorldModel({ platform: nodePlatform, dataset: other, encoder: { config: enc, weights: encWeights }, out: join(dir, 'ft.qwm'), numHist: 1, epochs: 1, batch: 8, lr: 0, seed: 1, checkpointEvery: 100, valWindows: 8, command: 'test', init, rollout: 2 });
    const { model, meta } = loadWorldModel(r.bytes);
    for (const [n, t] of init.weights) expect(Array.from(model.weights.get(n)!.f32), n).toEqual(Array.from(t.f32));
    expect(Array.from(model.stats.actionStd)).toEqual(Array.from(init.stats.actionStd));
    expect(Array.from(model.stats.actionStd)).not.toEqual(other.stats.action.std.map(Math.fround));
    expect((meta.training as { rollout: number }).rollout).toBe(2);
  });

  it('with lr > 0 moves the weights and lowers the rollout loss', async () => {
    const init = randomModel(8);
    const dir = mkdtempSync(join(tmpdir(), 'qwm-ft-'));
    const r = await trainWorldModel({ platform: nodePlatform, dataset: other, encoder: { config: enc, weights: encWeights }, out: join(dir, 'ft.qwm'), numHist: 1, epochs: 2, batch: 8, lr: 3e-3, seed: 1, checkpointEvery: 100, valWindows: 16, command: 'test', init, rollout: 2 });
    expect(r.history[1].train).toBeLessThan(r.history[0].train);
    const m = loadWorldModel(r.bytes).model;
    expect(Array.from(m.weights.get('predictor.blocks.0.mlp.fc1.weight')!.f32)).not.toEqual(Array.from(init.weights.get('predictor.blocks.0.mlp.fc1.weight')!.f32));
  });

  it('refuses a model trained on another encoder or with another num_hist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwm-ft-'));
    const base = { platform: nodePlatform, dataset: other, out: join(dir, 'ft.qwm'), numHist: 1, epochs: 1, batch: 8, lr: 0, seed: 1, checkpointEvery: 100, valWindows: 8, command: 'test' };
    const otherEnc = initWeights(encoderSpec(enc), new Rng(6));
    await expect(trainWorldModel({ ...base, encoder: { config: enc, weights: otherEnc }, init: randomModel(7) })).rejects.toThrow(/differs from the --encoder file/);
    await expect(trainWorldModel({ ...base, encoder: { config: enc, weights: encWeights }, init: randomModel(7, 3) })).rejects.toThrow(/num_hist 3/);
  });
});

describe('concatDatasets', () => {
  it('joins episodes in order and recomputes the statistics over the union', () => {
    const a = generateDataset({ env: 'wall', trajectories: 3, steps: 10, seed: 1 });
    const b = generateDataset({ env: 'wall', trajectories: 2, steps: 7, seed: 2, policy: 'cem' });
    const c = concatDatasets([a, b]);
    expect(c.episodes).toBe(5);
    expect(Array.from(c.lengths)).toEqual([10, 10, 10, 7, 7]);
    expect(Array.from(c.episodeStates(3))).toEqual(Array.from(b.episodeStates(0)));
    expect(Array.from(c.episodeActions(2))).toEqual(Array.from(a.episodeActions(2)));
    const all = new Float32Array([...a.actions, ...b.actions]);
    const mean0 = all.filter((_, i) => i % 2 === 0).reduce((s, v) => s + v, 0) / (all.length / 2);
    expect(c.stats.action.mean[0]).toBeCloseTo(mean0, 12);
    expect(c.generator.policy).toBe('quantwm data gen:mix + quantwm data gen:cem');
  });

  it('refuses datasets of different envs or env parameters', () => {
    const a = generateDataset({ env: 'wall', trajectories: 1, steps: 5, seed: 1 });
    const pm = generateDataset({ env: 'pointmaze', trajectories: 1, steps: 5, seed: 1 });
    const door = generateDataset({ env: 'wall', trajectories: 1, steps: 5, seed: 1, envParams: { doorY: 20 } });
    expect(() => concatDatasets([a, pm])).toThrow(/dataset 1 is pointmaze/);
    expect(() => concatDatasets([a, door])).toThrow(/env parameters/);
    expect(() => concatDatasets([])).toThrow(/no datasets/);
    // the image size only sets observe()'s resolution: data of any size join
    const small = generateDataset({ env: 'wall', trajectories: 1, steps: 5, seed: 2, envParams: { imageSize: 64 } });
    expect(concatDatasets([a, small]).envParams.imageSize).toBe(a.envParams.imageSize);
  });
});

describe('planner-mined data', () => {
  const m = randomModel(11);
  const norm = { mean: m.stats.actionMean, std: m.stats.actionStd };
  const mine = (seed: number) =>
    mineDataset({
      env: makeEnv('wall', { imageSize: 16 }),
      model: m,
      norm,
      cem: { horizon: 2, samples: 12, topk: 4, varScale: 1, optSteps: 3 },
      objective: { mode: 'last', alpha: 1, base: 2 },
      sampleEpisode: (s) => makeEnv('wall').sampleStartGoal(new Rng(s)),
      episodes: 2,
      iters: 2,
      perStep: 2,
      seed,
      offset: 3,
      label: 'test',
    });

  it('records perStep elites of every CEM step plus the plan, each executed in the true env', () => {
    const d = mine(99);
    const plans = d.info.plans;
    expect(plans).toBeGreaterThanOrEqual(2);
    expect(d.episodes).toBe(plans * (3 * 2 + 1));
    expect(d.info.trajectories).toBe(d.episodes);
    const env = makeEnv('wall');
    for (let k = 0; k < d.episodes; k++) {
      expect(d.lengths[k]).toBe(2 * 5);
      const replayed = env.replay(d.stateAt(k, 0), d.episodeActions(k));
      expect(Array.from(Float32Array.from(replayed))).toEqual(Array.from(d.episodeStates(k)));
    }
    expect(d.generator.name).toBe('quantwm data mine');
  });

  it('is deterministic for a seed and differs across seeds', () => {
    expect(encodeDataset(mine(99))).toEqual(encodeDataset(mine(99)));
    expect(encodeDataset(mine(98))).not.toEqual(encodeDataset(mine(99)));
  });

  it("cemPlan's onStep sees each step's ranking, cheapest first", () => {
    const env = makeEnv('wall', { imageSize: 16 });
    const { start, goal } = env.sampleStartGoal(new Rng(4));
    env.reset(goal);
    const zg = m.encode(env.observe());
    env.reset(start);
    const z = m.encode(env.observe());
    const seen: number[] = [];
    const r = cemPlan(m, z, zg, { horizon: 2, samples: 10, topk: 3, varScale: 1, optSteps: 3 }, { mode: 'last', alpha: 1, base: 2 }, new Rng(1), undefined, (_a, cost, order) => {
      for (let i = 1; i < order.length; i++) expect(cost[order[i]]).toBeGreaterThanOrEqual(cost[order[i - 1]]);
      seen.push(cost[order[0]]);
    });
    expect(seen).toEqual(r.lossPerStep);
  });
});
