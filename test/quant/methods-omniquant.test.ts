/**
 * OmniQuant: QuantWM's as-coded behaviour (= SmoothQuant on the encoder + RTN, predictor LET
 * miss), the published LET/LWC closed form, and LET + LWC training through the autograd.
 */
import { describe, expect, it } from 'vitest';
import * as ag from '../../src/tensor/autograd/index.js';
import { installFakeQuant } from '../../src/quant/execute.js';
import { PER_CHANNEL } from '../../src/quant/granularity.js';
import { LWC_INIT, lwcQParams, omniQuant, type OmniBlock, type OmniContext } from '../../src/quant/methods/omniquant.js';
import { smoothQuant } from '../../src/quant/methods/smoothquant.js';
import type { MethodResult } from '../../src/quant/plan.js';
import type { QuantTarget } from '../../src/quant/seam.js';
import { layerNorm } from '../../src/tensor/ops/norm.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { ValueError } from '../../src/tensor/errors.js';
import { linearF32 } from '../../src/quant/execute.js';
import { U32, f32DotBudget } from './budgets.js';
import { toyBlock } from './toy.js';

/** A pre-LN ViT block on Vars: x + proj(attn(qkv(norm1 x))), then x + fc2(gelu(fc1(norm2 x))). */
function blockOf(targets: QuantTarget[], input: Tensor<'f32'>, D: number): OmniBlock {
  const [qkv, proj, fc1, fc2] = targets;
  return {
    names: targets.map((t) => t.name),
    input,
    forward(x: ag.Var, ctx: OmniContext): ag.Var {
      const h1 = ctx.norm(qkv.prevNorm!.name, x, 1e-6);
      const y = ctx.linear(qkv.name, h1);
      const q = ag.slice(y, -1, 0, D);
      const k = ag.slice(y, -1, D, 2 * D);
      const v = ag.slice(y, -1, 2 * D, 3 * D);
      const att = ag.softmax(ag.scale(ag.matmul(q, k, { transB: true }), 1 / Math.sqrt(D)));
      let out = ag.add(x, ctx.linear(proj.name, ag.matmul(att, v)));
      const h2 = ctx.norm(fc1.prevNorm!.name, out, 1e-6);
      out = ag.add(out, ctx.linear(fc2.name, ag.gelu(ctx.linear(fc1.name, h2))));
      return out;
    },
  };
}

/** Float block run recording every Linear's input as (rows, in). */
function recordInputs(block: OmniBlock, targets: QuantTarget[]): Map<string, Tensor<'f32'>> {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const rec = new Map<string, Tensor<'f32'>>();
  const ctx: OmniContext = {
    norm: (name, x, eps) => {
      const n = targets.find((t) => t.prevNorm?.name === name)!.prevNorm!;
      return ag.layerNorm(x, ag.constant(n.weight), ag.constant(n.bias), eps);
    },
    linear: (name, x) => {
      const t = byName.get(name)!;
      rec.set(name, x.value.reshape([-1, t.weight.shape[1]]));
      return ag.linear(x, ag.constant(t.weight), t.bias ? ag.constant(t.bias) : null);
    },
  };
  ag.noGrad(() => block.forward(ag.constant(block.input), ctx));
  return rec;
}

/** Block output with a method's plan executed: fake-quant Linears, transformed norms. */
function runPlan(block: OmniBlock, targets: QuantTarget[], res: MethodResult): Tensor<'f32'> {
  const impls = installFakeQuant(res);
  const ctx: OmniContext = {
    norm: (name, x, eps) => {
      const n = res.norms.get(name) ?? targets.find((t) => t.prevNorm?.name === name)!.prevNorm!;
      return ag.constant(layerNorm(x.value, n.weight, n.bias, eps));
    },
    linear: (name, x) => {
      const impl = impls.get(name)!;
      const x2 = x.value.reshape([-1, impl.layer.inFeatures]);
      return ag.constant(impl.forward(x2).reshape([...x.shape.slice(0, -1), impl.layer.outFeatures]));
    },
  };
  return ag.noGrad(() => block.forward(ag.constant(block.input), ctx)).value;
}

function mse(a: Tensor<'f32'>, b: Tensor<'f32'>): number {
  let e = 0;
  for (let i = 0; i < a.size; i++) e += (a.f32[i] - b.f32[i]) ** 2;
  return e / a.size;
}

function setup(seed: number, D = 8, hidden = 16) {
  const rng = new Rng(seed);
  const enc = toyBlock(rng, D, hidden, 'encoder', 0);
  const input = rng.normalTensor([4, 6, D]);
  for (let i = 0; i < input.size; i += D) input.f32[i] *= 12; // an outlier channel
  const block = blockOf(enc.targets, input, D);
  const calib = recordInputs(block, enc.targets);
  return { rng, enc, block, calib };
}

describe('OmniQuant', () => {
  it("'quantwm' = SmoothQuant(α 0.5) on the encoder + RTN; predictor LET is a MISS (identity), noted in the plan", () => {
    const { rng, enc, calib } = setup(1);
    const pred = toyBlock(rng, 8, 16, 'predictor', 0);
    for (const t of pred.targets) calib.set(t.name, rng.normalTensor([24, t.weight.shape[1]]));
    const all = [...enc.targets, ...pred.targets];
    const o = omniQuant(all, { calib, config: { encoder: { wbits: 4, abits: 8 }, predictor: { wbits: 4, abits: 8 } } });
    const s = smoothQuant(enc.targets, { calib, config: { encoder: { wbits: 4, abits: 8 } } });
    for (const t of enc.targets) {
      expect(Array.from(o.weights.get(t.name)!.weight.f32)).toEqual(Array.from(s.weights.get(t.name)!.weight.f32));
    }
    for (const n of [enc.norm1.name, enc.norm2.name]) expect(o.norms.get(n)).toEqual(s.norms.get(n));
    for (const t of pred.targets) expect(o.weights.get(t.name)!.weight).toBe(t.weight);
    const predQkv = o.plan.layers.find((l) => l.name === pred.targets[0].name)!;
    expect(predQkv.notes?.[0]).toMatch(/MISS/);
    for (const l of o.plan.layers) expect(l.weight!.rule).toBe('minmax-sym');
    expect(() => omniQuant(all, { calib, epochs: 2 })).toThrow(/quantwm/);
  });

  it("'paper', 0 epochs: LET with shift (float output unchanged within the folding budget) and LWC parameters at sigmoid(4)", () => {
    const { enc, calib, block } = setup(2);
    const res = omniQuant(enc.targets, { calib, config: { semantics: 'paper', encoder: { wbits: 4, abits: 16 } } });
    const fc1 = enc.targets[2];
    const l = res.plan.layers[2];
    const let_ = l.transforms.find((t) => t.kind === 'smooth')!;
    expect(let_.kind === 'smooth' && let_.shifts!.some((d) => d !== 0)).toBe(true);
    const f = l.transforms.find((t) => t.kind === 'lwc')!;
    expect(f.kind === 'lwc' && f.up.every((u) => u === LWC_INIT)).toBe(true);
    const w2 = res.weights.get(fc1.name)!;
    expect(l.weight!.qparams).toEqual(lwcQParams(w2.weight, PER_CHANNEL, 4, f.kind === 'lwc' ? f.up : new Float32Array(), f.kind === 'lwc' ? f.low : new Float32Array()));
    // LN2 -> fc1 with (γ', β', W', b') equals the original within the folding budget, the shift terms included
    const xIn = new Tensor('f32', [24, 8], block.input.f32.slice()); // any inputs work: the identity is algebraic
    const n2 = fc1.prevNorm!;
    const before = linearF32(layerNorm(xIn, n2.weight, n2.bias, 1e-6), fc1.weight, fc1.bias);
    const after = linearF32(layerNorm(xIn, res.norms.get(n2.name)!.weight, res.norms.get(n2.name)!.bias, 1e-6), w2.weight, w2.bias);
    const nrm = layerNorm(xIn, null, null, 1e-6).f32;
    const shifts = let_.kind === 'smooth' ? let_.shifts! : new Float32Array();
    const [O, I] = fc1.weight.shape;
    for (let r = 0; r < 24; r++) {
      for (let i = 0; i < O; i++) {
        let c = 0;
        for (let j = 0; j < I; j++) c += Math.abs(fc1.weight.f32[i * I + j]) * (Math.abs(nrm[r * I + j] * n2.weight.f32[j]) + Math.abs(n2.bias.f32[j]) + 2 * Math.abs(shifts[j]));
        const bud = (2 * f32DotBudget(I, 1) + 10 * U32) * c + 3 * U32 * (Math.abs(before.f32[r * O + i]) + Math.abs(fc1.bias!.f32[i]));
        expect(Math.abs(after.f32[r * O + i] - before.f32[r * O + i])).toBeLessThanOrEqual(bud);
      }
    }
  });

  it("'paper' training (LET + LWC through the autograd with an STE) lowers the loss and the block output error", () => {
    const { enc, calib, block } = setup(3);
    const cfg = { semantics: 'paper' as const, encoder: { wbits: 3, abits: 8 }, act: 'per-token' as const };
    const float = recordInputs(block, enc.targets) && ag.noGrad(() => block.forward(ag.constant(block.input), {
      norm: (name, x, eps) => { const n = enc.targets.find((t) => t.prevNorm?.name === name)!.prevNorm!; return ag.layerNorm(x, ag.constant(n.weight), ag.constant(n.bias), eps); },
      linear: (name, x) => { const t = enc.targets.find((q) => q.name === name)!; return ag.linear(x, ag.constant(t.weight), t.bias ? ag.constant(t.bias) : null); },
    })).value;
    const r0 = omniQuant(enc.targets, { calib, config: cfg });
    const r1 = omniQuant(enc.targets, { calib, config: cfg, epochs: 6, blocks: [block] });
    const hist = r1.plan.layers[0].notes!.find((n) => n.startsWith('training loss'))!;
    const losses = hist.replace('training loss per epoch: ', '').split(', ').map(Number);
    expect(losses.length).toBe(6);
    expect(losses[5]).toBeLessThan(losses[0]);
    const e0 = mse(runPlan(block, enc.targets, r0), float);
    const e1 = mse(runPlan(block, enc.targets, r1), float);
    expect(e1).toBeLessThan(e0);
    expect(() => omniQuant(enc.targets, { calib, config: cfg, epochs: 1 })).toThrow(ValueError);
  });
});
