import { roundHalfEven } from '../../../src/quant/round.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ag from '../../../src/tensor/autograd/index.js';
import { intTensor, Tensor } from '../../../src/tensor/tensor.js';
import { broadcastPairArb, shapeArb, tensorArb } from '../ops/arb.js';
import { gradcheck } from './gradcheck.js';

const RUNS = { numRuns: 25 };
const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
/** values in [lo, hi] with magnitude >= away (keeps FD steps off kinks and poles) */
const tensorAway = (s: readonly number[], range: number, away: number) =>
  tensorArb(s, range).map((t) => new Tensor('f32', t.shape, t.f32.map((v) => (Math.abs(v) < away ? (v < 0 ? -away : away) - v * 0.1 : v))));

/** Property wrapper: gradcheck must compare at least one entry. */
function holds(n: number): void {
  expect(n).toBeGreaterThan(0);
}

describe('gradients match central finite differences (tolerance derived in gradcheck.ts)', () => {
  it('add / sub / mul with numpy broadcasting (grads summed over broadcast dims)', () => {
    fc.assert(
      fc.property(broadcastPairArb.chain(([sa, sb]) => fc.tuple(tensorArb(sa, 2), tensorArb(sb, 2))), ([a, b]) => {
        holds(gradcheck(ag.add, [a, b]));
        holds(gradcheck(ag.sub, [a, b]));
        holds(gradcheck(ag.mul, [a, b]));
      }),
      RUNS,
    );
  });
  it('div with broadcasting (|b| >= 0.5)', () => {
    fc.assert(
      fc.property(broadcastPairArb.chain(([sa, sb]) => fc.tuple(tensorArb(sa, 2), tensorAway(sb, 2, 0.5))), ([a, b]) => holds(gradcheck(ag.div, [a, b]))),
      RUNS,
    );
  });
  it('unary: neg, scale, addScalar, exp, log, sqrt, abs, relu, clamp, sigmoid, gelu', () => {
    fc.assert(
      fc.property(shapeArb(1, 3, 4).chain((s) => fc.tuple(tensorArb(s, 2), tensorAway(s, 3, 0.05))), ([x, xa]) => {
        holds(gradcheck(ag.neg, [x]));
        holds(gradcheck((v) => ag.scale(v, -1.5), [x]));
        holds(gradcheck((v) => ag.addScalar(v, 0.25), [x]));
        holds(gradcheck(ag.exp, [x]));
        holds(gradcheck(ag.sigmoid, [x]));
        holds(gradcheck(ag.gelu, [x]));
        const pos = new Tensor('f32', x.shape, x.f32.map((v) => Math.abs(v) + 0.5));
        holds(gradcheck(ag.log, [pos]));
        holds(gradcheck(ag.sqrt, [pos]));
        // kinks at 0 (abs, relu) and at ±1 (clamp): xa keeps |x| >= 0.05 and we shift off ±1
        holds(gradcheck(ag.abs, [xa]));
        holds(gradcheck(ag.relu, [xa]));
        const offOne = new Tensor('f32', xa.shape, xa.f32.map((v) => (Math.abs(Math.abs(v) - 1) < 0.05 ? v * 1.2 : v)));
        holds(gradcheck((v) => ag.clamp(v, -1, 1), [offOne]));
      }),
      RUNS,
    );
  });
  it('where routes gradients by the mask into both (broadcast) branches', () => {
    fc.assert(
      fc.property(
        broadcastPairArb.chain(([sa, sb]) => fc.tuple(tensorArb(sa), tensorArb(sb), fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }))),
        ([a, b, bits]) => {
          const shape = a.ndim >= b.ndim ? a.shape : b.shape;
          const outShape = shape.map((_, i) => Math.max(a.shape[i - (shape.length - a.ndim)] ?? 1, b.shape[i - (shape.length - b.ndim)] ?? 1));
          const mask = intTensor('u8', Array.from({ length: size(outShape) }, (_, i) => (bits[i % 64] ? 1 : 0)), outShape);
          holds(gradcheck((x, y) => ag.where(mask, x, y), [a, b]));
        },
      ),
      RUNS,
    );
  });
  it('matmul with transA/transB and broadcast batch dims; linear with and without bias', () => {
    fc.assert(
      fc.property(
        fc.record({ M: fc.integer({ min: 1, max: 3 }), N: fc.integer({ min: 1, max: 3 }), K: fc.integer({ min: 1, max: 4 }), tA: fc.boolean(), tB: fc.boolean(), bA: fc.constantFrom([], [2], [1], [2, 1]), bB: fc.constantFrom([], [2], [1]) }).chain((r) =>
          fc.tuple(fc.constant(r), tensorArb([...r.bA, ...(r.tA ? [r.K, r.M] : [r.M, r.K])], 2), tensorArb([...r.bB, ...(r.tB ? [r.N, r.K] : [r.K, r.N])], 2), tensorArb([r.N], 1)),
        ),
        ([r, a, b, bias]) => {
          holds(gradcheck((x, y) => ag.matmul(x, y, { transA: r.tA, transB: r.tB }), [a, b]));
          const x = a.reshape([...r.bA, -1, a.shape.at(-1)!]);
          const w = new Tensor('f32', [r.N, x.shape.at(-1)!], Float32Array.from({ length: r.N * x.shape.at(-1)!}, (_, i) => Math.sin(i + 1)));
          holds(gradcheck((u, v, c) => ag.linear(u, v, c), [x, w, bias]));
          holds(gradcheck((u, v) => ag.linear(u, v), [x, w]));
        },
      ),
      RUNS,
    );
  });
  it('layerNorm: x, gamma and beta gradients (D >= 2), eps 1e-5 and 1e-6', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 })).chain(([R, D]) => fc.tuple(tensorArb([R, D], 2), tensorArb([D], 2), tensorArb([D], 1), fc.constantFrom(1e-5, 1e-6))),
        ([x, g, b, eps]) => {
          // keep rows from being near-constant (rstd ~ 1/sqrt(eps) makes FD meaningless)
          const D = x.shape[1];
          const xs = new Tensor('f32', x.shape, x.f32.map((v, i) => v + (i % D) * 0.5 - Math.floor(i / D)));
          holds(gradcheck((u, gm, bt) => ag.layerNorm(u, gm, bt, eps), [xs, g, b]));
          holds(gradcheck((u) => ag.layerNorm(u, null, null, eps), [xs]));
        },
      ),
      RUNS,
    );
  });
  it('softmax with boolean and additive masks on any axis, including a row with a single visible entry', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 3, 4).chain((s) => fc.tuple(tensorArb(s, 3), fc.integer({ min: -s.length, max: s.length - 1 }), fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }))),
        ([x, axis, bits]) => {
          const keep = Array.from({ length: x.size }, (_, i) => (bits[i % 64] ? 1 : 0));
          keep[0] = 1; // at least the first row has something visible; others may be fully hidden (zeros)
          const bmask = intTensor('u8', keep, x.shape);
          const amask = new Tensor('f32', x.shape, Float32Array.from(keep, (k) => (k ? 0 : -Infinity)));
          holds(gradcheck((v) => ag.softmax(v, axis), [x]));
          holds(gradcheck((v) => ag.softmax(v, axis, bmask), [x]));
          holds(gradcheck((v) => ag.softmax(v, axis, amask), [x]));
        },
      ),
      RUNS,
    );
  });
  it('single visible entry: its gradient is exactly 0, hidden entries exactly 0, no NaN', () => {
    const x = ag.param(new Tensor('f32', [2, 4], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])));
    const mask = intTensor('u8', [0, 1, 0, 0, 0, 0, 0, 0], [2, 4]); // row 1 fully hidden
    const y = ag.softmax(x, -1, mask);
    ag.backward(y, new Tensor('f32', [2, 4], Float32Array.from([3, -1, 2, 5, 1, 1, 1, 1])));
    expect(Array.from(y.value.f32)).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(x.grad!.f32)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const a = ag.param(new Tensor('f32', [3], Float32Array.from([1, 1e30, -1e30])));
    ag.backward(ag.sum(ag.mul(ag.softmax(a), ag.constant(new Tensor('f32', [3], Float32Array.from([1, 2, 3]))))));
    expect(a.grad!.toArray().every((v) => Number.isFinite(v))).toBe(true);
  });
  it('layout: reshape, permute, transpose, concat, split, slice (step), tile, repeatInterleave, broadcastTo', () => {
    fc.assert(
      fc.property(
        shapeArb(2, 3, 3).chain((s) => fc.tuple(tensorArb(s), tensorArb(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length }))),
        ([x, z, perm]) => {
          holds(gradcheck((v) => ag.reshape(v, [-1]), [x]));
          holds(gradcheck((v) => ag.permute(v, perm), [x]));
          holds(gradcheck((v) => ag.transpose(v, 0, -1), [x]));
          holds(gradcheck((u, v) => ag.concat([u, v, u], 1), [x, z]));
          holds(gradcheck((u) => ag.mul(...(ag.split(ag.concat([u, u], 0), [x.shape[0], x.shape[0]], 0) as [ag.Var, ag.Var])), [x]));
          holds(gradcheck((v) => ag.slice(v, -1, 0, undefined, 2), [x]));
          holds(gradcheck((v) => ag.tile(v, [2, ...x.shape.map((_, i) => (i === x.ndim - 1 ? 3 : 1))]), [x]));
          holds(gradcheck((v) => ag.repeatInterleave(v, 3, 0), [x]));
          holds(gradcheck((v) => ag.broadcastTo(v, [2, ...x.shape]), [x]));
          holds(gradcheck((v) => ag.broadcastTo(ag.slice(v, 0, 0, 1), [3, ...x.shape.slice(1)]), [x]));
        },
      ),
      RUNS,
    );
  });
  it('gather and indexSelect (repeated indices accumulate), im2patch', () => {
    fc.assert(
      fc.property(
        fc.tuple(tensorArb([3, 4], 2), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 6 }), tensorArb([2, 2, 4, 6], 2)),
        ([x, idx, img]) => {
          const index = intTensor('i32', idx, [3, 2]);
          holds(gradcheck((v) => ag.gather(v, 1, index), [x]));
          holds(gradcheck((v) => ag.indexSelect(v, 1, idx.slice(0, 5)), [x]));
          holds(gradcheck((v) => ag.im2patch(v, 2), [img]));
        },
      ),
      RUNS,
    );
  });
  it('reductions: sum, mean (axis, keepdim, all), max/min (unique extreme); mseLoss both arguments, all reductions', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 3, 4).chain((s) => fc.tuple(tensorArb(s), tensorArb(s), fc.integer({ min: -s.length, max: s.length - 1 }), fc.boolean())),
        ([x, t, axis, keep]) => {
          holds(gradcheck((v) => ag.sum(v, axis, keep), [x]));
          holds(gradcheck((v) => ag.mean(v, axis, keep), [x]));
          holds(gradcheck((v) => ag.mean(v), [x]));
          // distinct values spaced > 2h apart: the extreme is unique under the FD step
          const spaced = new Tensor('f32', x.shape, Float32Array.from({ length: x.size }, (_, i) => ((i * 7) % x.size) * 0.1 + x.f32[i] * 0.01));
          holds(gradcheck((v) => ag.max(v, axis, keep), [spaced]));
          holds(gradcheck((v) => ag.min(v), [spaced]));
          for (const red of ['mean', 'sum', 'none'] as const) holds(gradcheck((p, q) => ag.mseLoss(p, q, red), [x, t]));
        },
      ),
      RUNS,
    );
  });
});

describe('tape semantics', () => {
  it('a Var used twice accumulates: d(x*x + x)/dx = 2x + 1; repeated backward adds to .grad', () => {
    const x = ag.param(new Tensor('f32', [3], Float32Array.from([1, -2, 0.5])));
    const y = ag.sum(ag.add(ag.mul(x, x), x));
    ag.backward(y);
    expect(x.grad!.toArray()).toEqual([3, -3, 2]);
    ag.backward(y);
    expect(x.grad!.toArray()).toEqual([6, -6, 4]);
  });
  it('diamond graphs: shared intermediate gets the sum of both paths', () => {
    const x = ag.param(new Tensor('f32', [2], Float32Array.from([1, 2])));
    const h = ag.exp(x);
    const y = ag.sum(ag.add(ag.scale(h, 2), ag.mul(h, h))); // 2e^x + e^2x
    const [g] = ag.grad(y, [x]);
    // d/dx (2 e^x + e^2x) = 2 e^x + 2 e^2x; float32 products: relative 2^-21
    [1, 2].forEach((v, i) => expect(Math.abs(g.f32[i] / (2 * Math.exp(v) + 2 * Math.exp(2 * v)) - 1)).toBeLessThan(2 ** -21));
    expect(x.grad).toBeNull(); // grad() does not touch .grad
  });
  it('nothing requiring grad, or noGrad: results are untracked leaves (no node, no closure)', () => {
    const a = ag.constant(new Tensor('f32', [2], Float32Array.from([1, 2])));
    const p = ag.param(new Tensor('f32', [2], Float32Array.from([3, 4])));
    expect(ag.mul(a, a).node).toBeNull();
    expect(ag.mul(a, p).node).not.toBeNull();
    const q = ag.noGrad(() => ag.mul(a, p));
    expect(q.node).toBeNull();
    expect(q.requiresGrad).toBe(false);
    expect(ag.isGradEnabled()).toBe(true);
    expect(() => ag.noGrad(() => { throw new Error('x'); })).toThrow('x');
    expect(ag.isGradEnabled()).toBe(true);
    expect(() => ag.backward(ag.mul(a, a))).toThrow(/does not depend on anything that requires grad/);
    expect(() => ag.backward(ag.mul(a, p))).toThrow(/not a scalar/);
  });
  it('grad w.r.t. an input only (frozen parameters via ParamSet(false)) and w.r.t. an intermediate', () => {
    const frozen = new ag.ParamSet(false);
    const W = new Tensor('f32', [2, 2], Float32Array.from([1, 2, 3, 4]));
    const x = ag.param(new Tensor('f32', [1, 2], Float32Array.from([1, 1])));
    const h = ag.linear(x, frozen.of(W));
    expect(frozen.of(W)).toBe(frozen.of(W));
    const loss = ag.sum(ag.mul(h, h));
    const [gx, gh] = ag.grad(loss, [x, h]);
    // h = [3, 7]; dL/dh = 2h = [6, 14]; dL/dx = dL/dh W = [6+42, 12+56]
    expect(gh.toArray()).toEqual([6, 14]);
    expect(gx.toArray()).toEqual([48, 68]);
    expect(frozen.vars()[0].grad).toBeNull();
  });
  it('customOp and the straight-through estimator: round in the forward, identity in the backward', () => {
    const s = ag.param(new Tensor('f32', [4], Float32Array.from([0.5, 1.5, 2.5, -0.5])));
    const q = ag.ste(s, roundHalfEven);
    expect(q.value.toArray()).toEqual([0, 2, 2, -0]);
    ag.backward(ag.sum(ag.scale(q, 3)));
    expect(s.grad!.toArray()).toEqual([3, 3, 3, 3]);
    // OmniQuant-style fake quant: x_q = clamp(ste(x / s), -8, 7) * s, gradient w.r.t. the scale s
    const x = ag.constant(new Tensor('f32', [3], Float32Array.from([0.26, -1.1, 5])));
    const sc = ag.param(new Tensor('f32', [1], Float32Array.from([0.1])));
    const xq = ag.mul(ag.clamp(ag.ste(ag.div(x, sc), roundHalfEven), -8, 7), sc);
    ag.backward(ag.mseLoss(xq, x, 'sum'));
    expect(Number.isFinite(sc.grad!.item())).toBe(true);
    expect(() => ag.customOp('bad', [s], (v) => v, () => [])).not.toThrow();
    const bad = ag.customOp('bad', [s], (v) => v, (g) => [g, g]);
    expect(() => ag.backward(ag.sum(bad))).toThrow(/bad: backward returned 2 gradients for 1 inputs/);
  });
  it('deep chains do not overflow the stack (iterative topological sort)', () => {
    let v = ag.param(new Tensor('f32', [1], Float32Array.from([1])));
    const x = v;
    for (let i = 0; i < 20000; i++) v = ag.addScalar(v, 0);
    ag.backward(v);
    expect(x.grad!.item()).toBe(1);
  });
});
