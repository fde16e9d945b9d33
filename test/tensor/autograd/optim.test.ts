import { describe, expect, it } from 'vitest';
import * as ag from '../../../src/tensor/autograd/index.js';
import { ValueError } from '../../../src/tensor/errors.js';
import { Rng } from '../../../src/tensor/rng.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { f32Of, loadGolden, ulp32 } from '../ops/golden.js';

describe('AdamW', () => {
  /*
   * torch keeps p, m, v in float32 and rounds after every tensor op (p*decay, m*b1, +(1-b1)g, ...);
   * we round only where it stores. Per step the difference is a few float32 roundings of the
   * update (~lr) and of p: bound 4 ulp(p) + 2^-20 * lr per step, times the step number.
   */
  it('matches torch.optim.AdamW for 3 steps (default and strong settings, grads spanning 0.1x..10x)', () => {
    const doc = loadGolden('adamw');
    for (const [name, c] of Object.entries(doc.cases)) {
      const p = ag.param(f32Of(c.p0).clone());
      const q = ag.param(f32Of(c.q0).clone());
      const lr = c.lr as number;
      const opt = new ag.AdamW([p, q], { lr, betas: [c.beta1 as number, c.beta2 as number], eps: c.eps as number, weightDecay: c.weight_decay as number });
      const gp = f32Of(c.gp), gq = f32Of(c.gq), wp = f32Of(c.p), wq = f32Of(c.q);
      for (let t = 0; t < 3; t++) {
        p.grad = gp.slice0(t, t + 1).reshape(p.shape);
        q.grad = gq.slice0(t, t + 1).reshape(q.shape);
        opt.step();
        for (const [v, w] of [[p, wp], [q, wq]] as const) {
          const want = w.slice0(t, t + 1).f32;
          for (let i = 0; i < v.size; i++) {
            const tol = (t + 1) * (4 * ulp32(want[i]) + 2 ** -20 * lr);
            expect(Math.abs(v.value.f32[i] - want[i]), `${name} step ${t + 1} [${i}]`).toBeLessThanOrEqual(tol);
          }
        }
      }
      expect(opt.steps).toBe(3);
    }
  });
  it('hand-computed first step: m = 0.1 g, v = 0.001 g^2, update = lr g / (|g| + eps) after decay', () => {
    const p = ag.param(new Tensor('f32', [2], Float32Array.from([1, -2])));
    const opt = new ag.AdamW([p], { lr: 0.1, weightDecay: 0.5 });
    p.grad = new Tensor('f32', [2], Float32Array.from([3, -0.5]));
    opt.step();
    // decay 1 - 0.05 = 0.95; bias-corrected m/sqrt(v) = sign(g) (eps 1e-8 negligible)
    expect(p.value.f32[0]).toBeCloseTo(0.95 - 0.1, 6);
    expect(p.value.f32[1]).toBeCloseTo(-1.9 + 0.1, 6);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    opt.step(); // no grad: skipped (only the step count advances)
    expect(p.value.f32[0]).toBeCloseTo(0.85, 6);
  });
  it('rejects bad hyper-parameters, non-leaf params and NaN gradients', () => {
    const p = ag.param(new Tensor('f32', [1]));
    expect(() => new ag.AdamW([p], { lr: -1 })).toThrow(ValueError);
    expect(() => new ag.AdamW([p], { betas: [1, 0.9] })).toThrow(/betas must be in \[0, 1\)/);
    expect(() => new ag.AdamW([ag.addScalar(p, 1)])).toThrow(/not a leaf/);
    const opt = new ag.AdamW([p]);
    p.grad = new Tensor('f32', [1], Float32Array.of(NaN));
    expect(() => opt.step()).toThrow(/NaN gradient/);
  });
  it('clipGradNorm rescales to maxNorm and reports the prior norm', () => {
    const p = ag.param(new Tensor('f32', [2]));
    p.grad = new Tensor('f32', [2], Float32Array.from([3, 4]));
    expect(ag.clipGradNorm([p], 1)).toBe(5);
    expect(Math.hypot(...p.grad.toArray())).toBeCloseTo(1, 5);
  });
});

describe('a 2-layer MLP trained with the tape and AdamW', () => {
  it('lowers its loss over 50 steps (final < 25% of initial) on a smooth regression', () => {
    const rng = new Rng(7);
    const N = 64, Din = 3, Hd = 16;
    const X = rng.uniformTensor([N, Din], -1, 1);
    const Y = new Tensor('f32', [N, 1], Float32Array.from({ length: N }, (_, i) => Math.sin(2 * X.f32[i * Din]) + X.f32[i * Din + 1] * X.f32[i * Din + 2]));
    const params = new ag.ParamSet();
    const W1 = rng.normalTensor([Hd, Din], 0, 1 / Math.sqrt(Din)), b1 = new Tensor('f32', [Hd]);
    const W2 = rng.normalTensor([1, Hd], 0, 1 / Math.sqrt(Hd)), b2 = new Tensor('f32', [1]);
    const forward = (x: ag.Var): ag.Var => ag.linear(ag.gelu(ag.linear(x, params.of(W1), params.of(b1))), params.of(W2), params.of(b2));
    const x = ag.constant(X), y = ag.constant(Y);
    forward(x); // registers the parameters in first-use order
    const opt = new ag.AdamW(params.vars(), { lr: 3e-2, weightDecay: 1e-4 });
    const losses: number[] = [];
    for (let step = 0; step < 50; step++) {
      opt.zeroGrad();
      const loss = ag.mseLoss(forward(x), y);
      ag.backward(loss);
      opt.step();
      losses.push(loss.item());
    }
    expect(params.vars()).toHaveLength(4);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[49]).toBeLessThan(0.25 * losses[0]);
    // inference with the same forward under noGrad records nothing
    const out = ag.noGrad(() => forward(x));
    expect(out.node).toBeNull();
    expect(W1.f32).toBe(params.of(W1).value.f32); // the optimizer updated the layer's own tensor
  });
});
