/**
 * conv2d / convTranspose2d and their backward functions against torch 1.13 golden fixtures
 * (test/fixtures/image_ops/conv.json, scripts/golden/image_ops.py) and properties: delta kernels
 * are the identity, convTranspose2d is the adjoint of conv2d, and the gradients agree with
 * central finite differences of the forward functions.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError } from '../../../src/tensor/errors.js';
import {
  conv2d,
  conv2dBackward,
  convTranspose2d,
  convTranspose2dBackward,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
} from '../../../src/tensor/ops/conv.js';
import { Rng } from '../../../src/tensor/rng.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { f32Of } from './golden.js';

type Case = Record<string, any>;
function loadCases(name: string): Case[] {
  const url = new URL(`../../fixtures/image_ops/${name}.json`, import.meta.url);
  const doc = JSON.parse(readFileSync(fileURLToPath(url), 'utf8'));
  if (doc.format !== 'quantwm-golden-image-ops-1') throw new Error(`${name}: unknown format ${doc.format}`);
  return doc.cases as Case[];
}

const U = 2 ** -24; // float32 unit roundoff
/** Higham's gamma_n = n u / (1 - n u): relative error bound of an n-term float32 dot product. */
const gamma = (n: number): number => (n * U) / (1 - n * U);

const abs = (t: Tensor<'f32'>): Tensor<'f32'> => new Tensor('f32', t.shape, t.f32.map(Math.abs));

/** max_i |a_i - b_i| / tol_i (0 where equal), with the index for the failure message. */
function worst(a: Tensor<'f32'>, b: Tensor<'f32'>, tol: (i: number) => number): { ratio: number; at: number } {
  expect(a.shape).toEqual(b.shape);
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < a.size; i++) {
    if (a.f32[i] === b.f32[i]) continue;
    const r = Math.abs(a.f32[i] - b.f32[i]) / tol(i);
    if (!(r <= ratio)) {
      ratio = r;
      at = i;
    }
  }
  return { ratio, at };
}

function dot(a: Float32Array, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
function dotAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] * b[i]);
  return s;
}

function convOpts(p: Case): Conv2dOptions {
  return { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
}
function convTOpts(p: Case): ConvTranspose2dOptions {
  return { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups, outputPadding: p.output_padding };
}

describe('conv2d / convTranspose2d vs torch 1.13 (golden)', () => {
  for (const c of loadCases('conv')) {
    it(`${c.op} ${c.name}`, () => {
      const x = f32Of(c.x);
      const w = f32Of(c.w);
      const b = c.b ? f32Of(c.b) : null;
      const isT = c.op === 'convTranspose2d';
      const [kh, kw] = w.shape.slice(2);
      const groups = c.params.groups ?? 1;
      // Terms per output: conv C/g*kh*kw products (+ bias); convT (O/g products) * kh*kw partial sums (+ bias).
      const K = (isT ? w.shape[1] : w.shape[1]) * kh * kw + 1;
      const y = isT ? convTranspose2d(x, w, b, convTOpts(c.params)) : conv2d(x, w, b, convOpts(c.params));
      const ref = f32Of(c.y);
      expect(y.shape).toEqual(ref.shape);
      // Both torch and we are within gamma_K * S of the exact result, S = |w| * |x| + |b| (computed
      // with the same op on absolute values; its own float32 error is below 1 + gamma_K).
      const S = isT ? convTranspose2d(abs(x), abs(w), b && abs(b), convTOpts(c.params)) : conv2d(abs(x), abs(w), b && abs(b), convOpts(c.params));
      const bound = 2 * gamma(K) * (1 + gamma(K));
      const r = worst(y, ref, (i) => bound * S.f32[i] + 2 ** -140);
      expect(r.ratio, `worst at ${r.at}`).toBeLessThanOrEqual(1);
      expect(groups).toBeGreaterThanOrEqual(1);
      if (!c.gy) return;
      const gy = f32Of(c.gy);
      const g = isT ? convTranspose2dBackward(x, w, gy, convTOpts(c.params)) : conv2dBackward(x, w, gy, convOpts(c.params));
      const Sg = isT ? convTranspose2dBackward(abs(x), abs(w), abs(gy), convTOpts(c.params)) : conv2dBackward(abs(x), abs(w), abs(gy), convOpts(c.params));
      // Longest sum in any gradient: weight/bias grads sum over B*positions, input grads over channels*taps.
      const n = Math.max(gy.size / gy.shape[1], x.size / x.shape[1], w.shape[0] * kh * kw, w.shape[1] * kh * kw) + 1;
      const gb = 2 * gamma(n) * (1 + gamma(n));
      for (const [name, got, want, s] of [
        ['gx', g.gx, f32Of(c.gx), Sg.gx],
        ['gw', g.gw, f32Of(c.gw), Sg.gw],
        ...(c.gb ? [['gb', g.gb, f32Of(c.gb), Sg.gb] as const] : []),
      ] as const) {
        const rg = worst(got, want, (i) => gb * s.f32[i] + 2 ** -140);
        expect(rg.ratio, `${name} worst at ${rg.at}`).toBeLessThanOrEqual(1);
      }
    });
  }
});

/** A random conv geometry with a non-empty output; shrinks toward 1x1 kernels, stride 1, no padding. */
const convGeomArb = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    G: fc.integer({ min: 1, max: 2 }),
    Cg: fc.integer({ min: 1, max: 3 }),
    Og: fc.integer({ min: 1, max: 3 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    eh: fc.integer({ min: 0, max: 5 }),
    ew: fc.integer({ min: 0, max: 5 }),
    seed: fc.integer({ min: 0, max: 1 << 30 }),
  })
  .map((g) => {
    const H = Math.max(1, g.dh * (g.kh - 1) + 1 - 2 * g.ph) + g.eh;
    const W = Math.max(1, g.dw * (g.kw - 1) + 1 - 2 * g.pw) + g.ew;
    const opts: Conv2dOptions = { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], groups: g.G };
    return { ...g, H, W, C: g.Cg * g.G, O: g.Og * g.G, opts };
  });

/** Seeded normal values rounded to float32 (Rng is the project's deterministic generator). */
function randn(rng: Rng, shape: number[], scale = 1): Tensor<'f32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.normal() * scale;
  return new Tensor('f32', shape, d);
}

/** conv output spatial size for the geometry. */
function outSize(g: { H: number; W: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; ph: number; pw: number }): [number, number] {
  return [
    Math.floor((g.H + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh) + 1,
    Math.floor((g.W + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw) + 1,
  ];
}

describe('conv properties', () => {
  it('a delta kernel (centre tap 1, padding d(k-1)/2) is the identity, bit for bit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1 << 30 }),
        (C, r, d, H, W, depthwise, seed) => {
          const k = 2 * r + 1;
          const x = randn(new Rng(seed), [2, C, H, W]);
          const w = new Tensor('f32', [C, depthwise ? 1 : C, k, k]);
          for (let o = 0; o < C; o++) w.f32[((o * (depthwise ? 1 : C) + (depthwise ? 0 : o)) * k + r) * k + r] = 1;
          const opts = { padding: d * r, dilation: d, groups: depthwise ? C : 1 };
          const y = conv2d(x, w, null, opts);
          expect(Array.from(y.f32)).toEqual(Array.from(x.f32));
          // and its transpose too (a centred delta is its own adjoint)
          const yt = convTranspose2d(x, w, null, opts);
          expect(Array.from(yt.f32)).toEqual(Array.from(x.f32));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('constant bias only: zero weights give the bias everywhere', () => {
    const x = randn(new Rng(3), [2, 3, 5, 4]);
    const w = new Tensor('f32', [4, 3, 3, 3]);
    const b = new Tensor('f32', [4], Float32Array.from([1.5, -2, 0, 7]));
    const y = conv2d(x, w, b, { padding: 1, stride: 2 });
    expect(y.shape).toEqual([2, 4, 3, 2]);
    for (let i = 0; i < y.size; i++) expect(y.f32[i]).toBe(b.f32[Math.floor(i / 6) % 4]);
  });

  it('convTranspose2d is the adjoint of conv2d: <conv(x), y> = <x, convT(y)>', () => {
    fc.assert(
      fc.property(convGeomArb, (g) => {
        const rng = new Rng(g.seed);
        const [Ho, Wo] = outSize(g);
        const x = randn(rng, [g.B, g.C, g.H, g.W]);
        const w = randn(rng, [g.O, g.Cg, g.kh, g.kw]);
        const y = randn(rng, [g.B, g.O, Ho, Wo]);
        const op: [number, number] = [
          g.H - ((Ho - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + 1),
          g.W - ((Wo - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + 1),
        ];
        const tOpts: ConvTranspose2dOptions = { ...g.opts, padding: [g.ph, g.pw], outputPadding: op } as ConvTranspose2dOptions;
        const cx = conv2d(x, w, null, g.opts);
        const ty = convTranspose2d(y, w, null, tOpts);
        expect(ty.shape).toEqual(x.shape);
        const lhs = dot(cx.f32, y.f32);
        const rhs = dot(x.f32, ty.f32);
        // Each float32 output is within gamma_n * S of exact, S from the abs-valued op;
        // the float64 dots add < 1e-15 relative. n bounds the terms of any output.
        const n = Math.max(g.Cg, g.Og) * g.kh * g.kw + 1;
        const S1 = conv2d(abs(x), abs(w), null, g.opts);
        const S2 = convTranspose2d(abs(y), abs(w), null, tOpts);
        const tol = gamma(n) * (1 + gamma(n)) * (dotAbs(S1.f32, y.f32) + dotAbs(S2.f32, x.f32)) + 1e-12 * (dotAbs(cx.f32, y.f32) + 1);
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(tol);
      }),
      { numRuns: 80 },
    );
  });
});

/**
 * Central difference of L(p) = <gy, f(p)> along a direction, for an f that is linear in p
 * (conv and its transpose are linear in x, w and b separately), so the difference quotient
 * equals the directional derivative up to float32 rounding of the two forward passes:
 * |FD - exact| <= sum_i |gy_i| gamma_n (S+_i + S-_i) / (2h). The perturbed point is rounded to
 * float32, so the exact direction used is v = (p+ - p-) / (2h), computed in float64.
 */
function fdCheck(
  p: Tensor<'f32'>,
  grad: Tensor<'f32'>,
  gradAbsBound: Tensor<'f32'>,
  nGrad: number,
  f: (q: Tensor<'f32'>) => Tensor<'f32'>,
  fAbs: (q: Tensor<'f32'>) => Tensor<'f32'>,
  nF: number,
  gy: Tensor<'f32'>,
  rng: Rng,
): void {
  const h = 0.5;
  const dir = randn(rng, [...p.shape]);
  const pp = new Tensor('f32', p.shape, p.f32.map((v, i) => v + h * dir.f32[i]));
  const pm = new Tensor('f32', p.shape, p.f32.map((v, i) => v - h * dir.f32[i]));
  const v = Float64Array.from(pp.f32, (a, i) => (a - pm.f32[i]) / (2 * h));
  const fd = (dot(f(pp).f32, gy.f32) - dot(f(pm).f32, gy.f32)) / (2 * h);
  const an = dot(grad.f32, v);
  const gyAbs = abs(gy).f32;
  const tolFd = (gamma(nF) * (1 + gamma(nF)) * (dot(fAbs(pp).f32, gyAbs) + dot(fAbs(pm).f32, gyAbs))) / (2 * h);
  const tolAn = gamma(nGrad) * (1 + gamma(nGrad)) * dotAbs(gradAbsBound.f32, v);
  expect(Math.abs(fd - an)).toBeLessThanOrEqual(tolFd + tolAn + 1e-12 * (Math.abs(an) + 1));
}

describe('backward functions vs finite differences', () => {
  it('conv2dBackward: gx, gw, gb', () => {
    fc.assert(
      fc.property(convGeomArb, (g) => {
        const rng = new Rng(g.seed);
        const [Ho, Wo] = outSize(g);
        const x = randn(rng, [g.B, g.C, g.H, g.W]);
        const w = randn(rng, [g.O, g.Cg, g.kh, g.kw]);
        const b = randn(rng, [g.O]);
        const gy = randn(rng, [g.B, g.O, Ho, Wo]);
        const gr = conv2dBackward(x, w, gy, g.opts);
        const ga = conv2dBackward(abs(x), abs(w), abs(gy), g.opts);
        const nF = g.Cg * g.kh * g.kw + 1;
        const nG = Math.max(g.Og * g.kh * g.kw, g.B * Ho * Wo) + 1;
        const bA = abs(b);
        fdCheck(x, gr.gx, ga.gx, nG, (q) => conv2d(q, w, b, g.opts), (q) => conv2d(abs(q), abs(w), bA, g.opts), nF, gy, rng);
        fdCheck(w, gr.gw, ga.gw, nG, (q) => conv2d(x, q, b, g.opts), (q) => conv2d(abs(x), abs(q), bA, g.opts), nF, gy, rng);
        fdCheck(b, gr.gb, ga.gb, nG, (q) => conv2d(x, w, q, g.opts), (q) => conv2d(abs(x), abs(w), abs(q), g.opts), nF, gy, rng);
      }),
      { numRuns: 60 },
    );
  });

  it('convTranspose2dBackward: gx, gw, gb', () => {
    const arb = convGeomArb.chain((g) =>
      fc.record({ oph: fc.integer({ min: 0, max: Math.max(g.sh, g.dh) - 1 }), opw: fc.integer({ min: 0, max: Math.max(g.sw, g.dw) - 1 }) }).map((o) => ({ ...g, ...o })),
    );
    fc.assert(
      fc.property(arb, (g) => {
        const rng = new Rng(g.seed);
        // x plays the small side: (B, C, h, w) with h, w from the conv output size of the geometry.
        const [h, wd] = outSize(g);
        const opts: ConvTranspose2dOptions = { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], groups: g.G, outputPadding: [g.oph, g.opw] };
        const Hout = (h - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + g.oph + 1;
        const Wout = (wd - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + g.opw + 1;
        fc.pre(Hout >= 1 && Wout >= 1);
        const x = randn(rng, [g.B, g.C, h, wd]);
        const w = randn(rng, [g.C, g.Og, g.kh, g.kw]);
        const b = randn(rng, [g.O]);
        const gy = randn(rng, [g.B, g.O, Hout, Wout]);
        const gr = convTranspose2dBackward(x, w, gy, opts);
        const ga = convTranspose2dBackward(abs(x), abs(w), abs(gy), opts);
        const nF = g.Og * g.kh * g.kw + 1;
        const nG = Math.max(g.Og * g.kh * g.kw, g.B * h * wd) + 1;
        const bA = abs(b);
        fdCheck(x, gr.gx, ga.gx, nG, (q) => convTranspose2d(q, w, b, opts), (q) => convTranspose2d(abs(q), abs(w), bA, opts), nF, gy, rng);
        fdCheck(w, gr.gw, ga.gw, nG, (q) => convTranspose2d(x, q, b, opts), (q) => convTranspose2d(abs(x), abs(q), bA, opts), nF, gy, rng);
        fdCheck(b, gr.gb, ga.gb, nG, (q) => convTranspose2d(x, w, q, opts), (q) => convTranspose2d(abs(x), abs(w), abs(q), opts), nF, gy, rng);
      }),
      { numRuns: 60 },
    );
  });

  it('the decoder upsampling block: ConvTranspose2d(k4, s2, p1) doubles H and W', () => {
    const x = randn(new Rng(9), [1, 6, 14, 14]);
    const w = randn(new Rng(10), [6, 4, 4, 4]);
    expect(convTranspose2d(x, w, null, { stride: 2, padding: 1 }).shape).toEqual([1, 4, 28, 28]);
  });
});

describe('conv errors name the op and the shapes', () => {
  const x = new Tensor('f32', [1, 4, 5, 5]);
  it('conv2d', () => {
    expect(() => conv2d(new Tensor('f32', [4, 5, 5]), new Tensor('f32', [2, 4, 3, 3]))).toThrow(ShapeError);
    expect(() => conv2d(x, new Tensor('f32', [2, 3, 3, 3]))).toThrow(/conv2d.*\[1,4,5,5\].*\[2,3,3,3\]/);
    expect(() => conv2d(x, new Tensor('f32', [3, 2, 3, 3]), null, { groups: 2 })).toThrow(ShapeError); // O=3 not divisible
    expect(() => conv2d(x, new Tensor('f32', [2, 4, 3, 3]), new Tensor('f32', [3]))).toThrow(/bias must be \(2\)/);
    expect(() => conv2d(x, new Tensor('f32', [2, 4, 7, 7]))).toThrow(/smaller than the dilated kernel/);
    expect(() => conv2d(x, new Tensor('f32', [2, 4, 3, 3]), null, { stride: 0 })).toThrow(ValueError);
    expect(() => conv2d(x, new Tensor('f32', [2, 4, 3, 3]), null, { padding: -1 })).toThrow(ValueError);
    expect(() => conv2d(x, new Tensor('f32', [2, 4, 3, 3]), null, { padding: 'same', stride: 2 })).toThrow(/'same' needs stride 1/);
    expect(() => conv2d(x, new Tensor('f32', [2, 4, 3, 3]), null, { dilation: NaN })).toThrow(ValueError);
    expect(() => conv2d(new Tensor('i32', [1, 4, 5, 5]) as never, new Tensor('f32', [2, 4, 3, 3]))).toThrow(DTypeError);
  });
  it('conv2dBackward', () => {
    expect(() => conv2dBackward(x, new Tensor('f32', [2, 4, 3, 3]), new Tensor('f32', [1, 2, 4, 4]))).toThrow(/conv2dBackward.*\[1,2,3,3\].*\[1,2,4,4\]/);
  });
  it('convTranspose2d', () => {
    expect(() => convTranspose2d(x, new Tensor('f32', [3, 2, 4, 4]))).toThrow(/convTranspose2d.*\[1,4,5,5\].*\[3,2,4,4\]/);
    expect(() => convTranspose2d(x, new Tensor('f32', [4, 2, 4, 4]), null, { stride: 2, outputPadding: 2 })).toThrow(/outputPadding/);
    expect(() => convTranspose2d(x, new Tensor('f32', [4, 2, 4, 4]), new Tensor('f32', [4]), { stride: 2 })).toThrow(/bias must be \(2\)/);
    expect(() => convTranspose2d(new Tensor('f32', [1, 4, 1, 1]), new Tensor('f32', [4, 2, 1, 1]), null, { padding: 1 })).toThrow(/empty output/);
    expect(() =>
      convTranspose2dBackward(x, new Tensor('f32', [4, 2, 4, 4]), new Tensor('f32', [1, 2, 5, 5]), { stride: 2, padding: 1 }),
    ).toThrow(/convTranspose2dBackward.*\[1,2,10,10\]/);
  });
});
