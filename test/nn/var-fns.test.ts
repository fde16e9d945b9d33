import { describe, expect, it } from 'vitest';
import { compactConfig } from '../../src/nn/compact.js';
import { tensorFns } from '../../src/nn/fn.js';
import { varFns } from '../../src/nn/var-fns.js';
import { initWeights } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import * as ag from '../../src/tensor/autograd/index.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';

function tiny(): WorldModel {
  const cfg = compactConfig('tiny', { proprioDim: 2, numFrames: 2, imageSize: 16, patchSize: 8, dim: 8 });
  const stats = { proprioMean: new Float32Array(2), proprioStd: Float32Array.of(1, 1), actionMean: new Float32Array(2), actionStd: Float32Array.of(1, 1) };
  return new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(7)), stats);
}

describe('layers on Vars (varFns) equal layers on tensors (tensorFns)', () => {
  it('the rollout values agree bit for bit, and d cost / d actions matches finite differences', () => {
    const m = tiny();
    const r = new Rng(1);
    const S = 1;
    const H = 3;
    const vis0 = r.normalTensor([S, 1, m.P, m.Dv]);
    const prop0 = r.normalTensor([S, 1, 10]);
    const acts = r.normalTensor([S, H, 10]);
    const zT = m.rolloutF(tensorFns, vis0, prop0, acts);
    const F = varFns(new ag.ParamSet(false));
    const a = ag.param(acts);
    const zV = m.rolloutF(F, ag.constant(vis0), ag.constant(prop0), a);
    expect(Array.from(zV.value.f32)).toEqual(Array.from(zT.f32));
    // cost = mean of the final frame's visual channels squared
    const cost = (z: ag.Var): ag.Var => ag.mean(ag.mul(ag.slice(z, 1, H, H + 1), ag.slice(z, 1, H, H + 1)));
    const c = cost(zV);
    ag.backward(c);
    const g = a.grad!.f32;
    // central differences in float32 forward: h = 1e-2, the cost is smooth; tolerance 5% + 1e-4
    const f = (t: Tensor<'f32'>): number => cost(ag.constant(m.rolloutF(tensorFns, vis0, prop0, t))).item();
    for (const i of [0, 7, 15, 29]) {
      const p = acts.clone();
      const q = acts.clone();
      p.f32[i] += 1e-2;
      q.f32[i] -= 1e-2;
      const fd = (f(p) - f(q)) / 2e-2;
      expect(Math.abs(g[i] - fd)).toBeLessThan(0.05 * Math.abs(fd) + 1e-4);
    }
  });
  it('a few AdamW steps on the predictor lower a teacher-forcing loss', () => {
    const m = tiny();
    const r = new Rng(2);
    const params = new ag.ParamSet(true);
    const F = varFns(params);
    const z = r.normalTensor([4, 2, m.P, m.D]);
    const target = r.normalTensor([4, 2, m.P, m.D]);
    const loss = (): ag.Var => ag.mseLoss(m.predictor.forward(F, ag.constant(z)), ag.constant(target));
    const first = loss();
    ag.backward(first);
    const opt = new ag.AdamW(params.vars(), { lr: 3e-3 });
    opt.step();
    let last = first.item();
    for (let i = 0; i < 15; i++) {
      opt.zeroGrad();
      const l = loss();
      ag.backward(l);
      opt.step();
      last = l.item();
    }
    expect(last).toBeLessThan(first.item() * 0.95);
  });
});

describe('gradient-descent planning through the model', () => {
  it('costAndGrad agrees with the planner objective, and GD lowers it', async () => {
    const { objectiveCosts } = await import('../../src/plan/objective.js');
    const { GdPlanner } = await import('../../src/plan/gd.js');
    const m = tiny();
    const r = new Rng(8);
    const img = (): { image: Uint8Array; proprio: Float32Array } => ({ image: Uint8Array.from({ length: 16 * 16 * 3 }, () => r.int(256)), proprio: Float32Array.of(r.uniform(), r.uniform()) });
    const z0 = m.encode(img());
    const goal = m.encode(img());
    const obj = { mode: 'last' as const, alpha: 1, base: 2 };
    const acts = Float32Array.from({ length: 2 * 3 * 10 }, () => r.normal());
    const { cost } = m.costAndGrad(z0, goal, acts, 2, 3, obj);
    const ref = objectiveCosts(m.rollout(z0, acts, 2, 3, 'last'), goal, obj);
    for (let i = 0; i < 2; i++) expect(Math.abs(cost[i] - ref[i])).toBeLessThan(1e-5 * Math.max(1, ref[i]));
    const gd = new GdPlanner(m, { horizon: 3, steps: 25, lr: 0.5, noise: 0 }, obj);
    const { lossPerStep } = gd.plan(z0, goal, new Rng(1));
    expect(lossPerStep[lossPerStep.length - 1]).toBeLessThan(lossPerStep[0]);
  });
});
