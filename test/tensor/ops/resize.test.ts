/**
 * interpolate / resizeImage / interpolatePosEmbed against torch 1.13 + torchvision 0.14 golden
 * fixtures (test/fixtures/image_ops, made by scripts/golden/image_ops.py) and properties.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { toFloatImage } from '../../../src/tensor/ops/image.js';
import { axisTaps, interpolate, interpolatePosEmbed, resizeImage, type AxisTaps, type InterpolateOptions } from '../../../src/tensor/ops/resize.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { f32Of, tensorOf } from './golden.js';

type Case = Record<string, any>;
function loadCases(name: string): Case[] {
  const url = new URL(`../../fixtures/image_ops/${name}.json`, import.meta.url);
  const doc = JSON.parse(readFileSync(fileURLToPath(url), 'utf8'));
  if (doc.format !== 'quantwm-golden-image-ops-1') throw new Error(`${name}: unknown format ${doc.format}`);
  return doc.cases as Case[];
}

/** The generator's u8_pattern(h, w, c) as a (1, h, w, c) u8 tensor. */
function u8Pattern(h: number, w: number, c: number): Tensor<'u8'> {
  const u = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) u[(y * w + x) * c + k] = (3 * y + 5 * x + 60 * k + ((y * x + 7 * k) % 17) * 4) % 256;
  return new Tensor('u8', [1, h, w, c], u);
}

const U = 2 ** -24; // float32 unit roundoff

/**
 * Per-output error budget for a separable resample y = sum_j wh_j (sum_k ww_k x_jk).
 * Both torch and we evaluate this nested dot product in float32 with the same taps (indices
 * equal; weights equal or within a few ulps, see resize-weights.ts); Higham's dot-product bound
 * gives each within gamma_(nh+nw) * S of the exact value with its own weights, S = sum |wh||ww||x|.
 * So |ours - torch| <= 2 (nh + nw) u S + (weight gap) <= (2 (nh + nw) + 8) u S, the 8 u S covering
 * a weight gap of up to 2 ulps (of 1) per axis on each side. FMA contraction in torch's kernels only
 * removes roundings, so it stays inside the bound.
 */
function budget(x: Float32Array, N: number, th: AxisTaps, tw: AxisTaps): Float64Array {
  const H = th.inSize;
  const W = tw.inSize;
  const out = new Float64Array(N * th.outSize * tw.outSize);
  let i = 0;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < th.outSize; oh++)
      for (let ow = 0; ow < tw.outSize; ow++) {
        let s = 0;
        const nh = th.count[oh];
        const nw = tw.count[ow];
        for (let j = 0; j < nh; j++) {
          const r = th.index[oh * th.taps + j];
          const wh = Math.abs(th.weight[oh * th.taps + j]);
          for (let k = 0; k < nw; k++) s += wh * Math.abs(tw.weight[ow * tw.taps + k]) * Math.abs(x[(n * H + r) * W + tw.index[ow * tw.taps + k]]);
        }
        out[i++] = (2 * (nh + nw) + 8) * U * s + 2 ** -140;
      }
  return out;
}

function tapsFor(H: number, W: number, oh: number, ow: number, p: InterpolateOptions): [AxisTaps, AxisTaps] {
  const ac = p.alignCorners ?? false;
  const aa = p.antialias ?? false;
  let sh: number | undefined;
  let sw: number | undefined;
  if (p.scaleFactor !== undefined && !p.recomputeScaleFactor) {
    [sh, sw] = typeof p.scaleFactor === 'number' ? [p.scaleFactor, p.scaleFactor] : p.scaleFactor;
  }
  return [axisTaps(H, oh, p.mode, ac, aa, sh), axisTaps(W, ow, p.mode, ac, aa, sw)];
}

/** max over i of |a - b| / tol(i); fails loudly on a length mismatch. */
function worstRatio(a: Float32Array, b: Float32Array, tol: ArrayLike<number>): { ratio: number; at: number; exact: number } {
  expect(a.length).toBe(b.length);
  let ratio = 0;
  let at = -1;
  let exact = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) {
      exact++;
      continue;
    }
    const r = Math.abs(a[i] - b[i]) / tol[i];
    if (!(r <= ratio)) {
      ratio = r;
      at = i;
    }
  }
  return { ratio, at, exact };
}

function rowsOf(y: Tensor<'f32'>, rows: number[]): Float32Array {
  const [B, C, H, W] = y.shape;
  const out = new Float32Array(B * C * rows.length * W);
  rows.forEach((r, i) => {
    for (let bc = 0; bc < B * C; bc++) out.set(y.f32.subarray((bc * H + r) * W, (bc * H + r + 1) * W), (bc * rows.length + i) * W);
  });
  return out;
}

describe('interpolate vs torch 1.13 (golden)', () => {
  const cases = loadCases('resize');
  for (const c of cases.filter((c) => c.x !== undefined)) {
    it(c.name, () => {
      const x = f32Of(c.x);
      const ref = f32Of(c.y);
      const y = interpolate(x, c.params);
      expect(y.shape).toEqual(ref.shape);
      const [B, C, H, W] = x.shape;
      const [th, tw] = tapsFor(H, W, y.shape[2], y.shape[3], c.params);
      const w = worstRatio(y.f32, ref.f32, budget(x.f32, B * C, th, tw));
      expect(w.ratio, `worst at ${w.at}`).toBeLessThanOrEqual(1);
    });
  }
  for (const c of cases.filter((c) => c.xGen !== undefined)) {
    it(`${c.name} (rows of the output, sums)`, () => {
      const [h, w, ch] = c.xGen.u8Pattern as number[];
      const x = toFloatImage(u8Pattern(h, w, ch));
      const p = c.params;
      const y = c.op === 'resizeTv' ? resizeImage(x, p.size, { mode: p.mode, antialias: p.antialias }) : interpolate(x, p);
      expect(y.shape).toEqual(c.yShape);
      const [th, tw] = tapsFor(h, w, y.shape[2], y.shape[3], { ...p, size: [y.shape[2], y.shape[3]] });
      const tol = budget(x.f32, ch, th, tw);
      const rows: number[] = c.rows;
      const tolRows = new Float64Array(rowsOf(new Tensor('f32', y.shape, Float32Array.from(tol)), rows));
      const got = rowsOf(y, rows);
      const r = worstRatio(got, f32Of(c.yRows).f32, tolRows);
      expect(r.ratio, `worst at ${r.at}`).toBeLessThanOrEqual(1);
      // Whole-output sums in float64: each element within its budget, so the sums within the budget sums.
      let s = 0;
      let sa = 0;
      let tb = 0;
      for (let i = 0; i < y.size; i++) {
        s += y.f32[i];
        sa += Math.abs(y.f32[i]);
        tb += tol[i];
      }
      expect(Math.abs(s - c.ySum)).toBeLessThanOrEqual(tb);
      expect(Math.abs(sa - c.yAbsSum)).toBeLessThanOrEqual(tb);
    });
  }
});

describe('interpolatePosEmbed vs DINOv2 interpolate_pos_encoding (golden)', () => {
  for (const c of loadCases('posembed')) {
    it(c.name, () => {
      const pos = f32Of(c.x);
      const ref = f32Of(c.y);
      const p = c.params;
      const y = interpolatePosEmbed(pos, p.targetH, p.targetW, { offset: p.offset, antialias: p.antialias, numPrefixTokens: p.numPrefixTokens });
      expect(y.shape).toEqual(ref.shape);
      const M = p.grid as number;
      const D = pos.shape[2];
      if (M === p.targetH && M === p.targetW) {
        expect(y).toBe(pos);
        return;
      }
      // Same budget as interpolate on the (1, D, M, M) planes, mapped back to token-major order.
      const planes = new Float32Array(D * M * M);
      for (let t = 0; t < M * M; t++) for (let d = 0; d < D; d++) planes[d * M * M + t] = pos.f32[(1 + t) * D + d];
      const opts: InterpolateOptions =
        p.offset > 0
          ? { mode: 'bicubic', antialias: p.antialias, scaleFactor: [(p.targetH + p.offset) / M, (p.targetW + p.offset) / M] }
          : { mode: 'bicubic', antialias: p.antialias, size: [p.targetH, p.targetW] };
      const [th, tw] = tapsFor(M, M, p.targetH, p.targetW, opts);
      const bp = budget(planes, D, th, tw);
      const T = p.targetH * p.targetW;
      const tol = new Float64Array((1 + T) * D).fill(2 ** -140);
      for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) tol[(1 + t) * D + d] = bp[d * T + t];
      for (let d = 0; d < D; d++) expect(y.f32[d]).toBe(pos.f32[d]); // CLS kept bit for bit
      const w = worstRatio(y.f32, ref.f32, tol);
      expect(w.ratio, `worst at ${w.at}`).toBeLessThanOrEqual(1);
    });
  }
});

const modes = ['bilinear', 'bicubic'] as const;

describe('interpolate properties', () => {
  const imgArb = fc.record({
    B: fc.integer({ min: 1, max: 2 }),
    C: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 9 }),
    W: fc.integer({ min: 1, max: 9 }),
    seed: fc.integer({ min: 0, max: 1 << 30 }),
  });
  const rand = (shape: number[], seed: number): Tensor<'f32'> => {
    let s = seed >>> 0;
    const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < d.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      d[i] = s / 2 ** 31 - 1;
    }
    return new Tensor('f32', shape, d);
  };

  it('same-size resize is the identity, bit for bit (every mode, align_corners, antialias)', () => {
    fc.assert(
      fc.property(imgArb, fc.constantFrom(...modes), fc.boolean(), fc.boolean(), (g, mode, alignCorners, antialias) => {
        const x = rand([g.B, g.C, g.H, g.W], g.seed);
        const y = interpolate(x, { mode, size: [g.H, g.W], alignCorners, antialias });
        expect(Array.from(y.f32)).toEqual(Array.from(x.f32));
      }),
      { numRuns: 100 },
    );
  });

  it('constant images stay constant (within the derived rounding bound)', () => {
    fc.assert(
      fc.property(
        imgArb,
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom(...modes),
        fc.boolean(),
        fc.boolean(),
        fc.float({ min: -100, max: 100, noNaN: true }).map(Math.fround),
        (g, oh, ow, mode, alignCorners, antialias, c) => {
          const x = new Tensor('f32', [g.B, g.C, g.H, g.W], new Float32Array(g.B * g.C * g.H * g.W).fill(c));
          const y = interpolate(x, { mode, size: [oh, ow], alignCorners, antialias });
          const th = axisTaps(g.H, oh, mode, alignCorners, antialias);
          const tw = axisTaps(g.W, ow, mode, alignCorners, antialias);
          // y = c * (sum wh)(sum ww) up to gamma_(nh+nw) * |c| * sum|wh| sum|ww|; each weight row sums
          // to 1 within a few roundings (linear: 1 - l1 rounds once; cubic: four float polynomials,
          // each off by <= 2 ulps of 3 in magnitude; antialias: renormalised by a float32 division).
          for (let i = 0; i < y.size; i++) {
            const ow_ = i % ow;
            const oh_ = Math.floor(i / ow) % oh;
            let sh = 0;
            let sw = 0;
            for (let j = 0; j < th.count[oh_]; j++) sh += Math.abs(th.weight[oh_ * th.taps + j]);
            for (let j = 0; j < tw.count[ow_]; j++) sw += Math.abs(tw.weight[ow_ * tw.taps + j]);
            const n = th.count[oh_] + tw.count[ow_];
            // + an absolute 2^-149 per rounding for subnormal constants (underflow is absolute, not relative)
            const tol = (n + 2 * 16) * U * Math.abs(c) * sh * sw + 2 * n * 2 ** -149;
            expect(Math.abs(y.f32[i] - c)).toBeLessThanOrEqual(tol);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('align_corners maps the corners onto the input corners', () => {
    fc.assert(
      fc.property(imgArb, fc.integer({ min: 2, max: 20 }), fc.integer({ min: 2, max: 20 }), fc.constantFrom(...modes), (g, oh, ow, mode) => {
        fc.pre(g.H > 1 && g.W > 1);
        const x = rand([g.B, g.C, g.H, g.W], g.seed);
        const y = interpolate(x, { mode, size: [oh, ow], alignCorners: true });
        // Output 0 samples source 0 exactly. The last output samples float32((N-1)/(n-1)) * (n-1),
        // off from N-1 by <= u (N-1) (one rounding of the scale): a weight (slope <= 1.25 for the
        // cubic kernel, 1 for linear, 4 taps) moves by <= 1.25 u (N-1) per tap and axis, plus the
        // summation's roundings; max|x| <= 1 here.
        const tol = (2 * 4 * 1.25 * Math.max(g.H, g.W) + 16) * U;
        for (let p = 0; p < g.B * g.C; p++) {
          const X = (r: number, c: number) => x.f32[(p * g.H + r) * g.W + c];
          const Y = (r: number, c: number) => y.f32[(p * oh + r) * ow + c];
          expect(Y(0, 0)).toBe(X(0, 0));
          expect(Math.abs(Y(oh - 1, ow - 1) - X(g.H - 1, g.W - 1))).toBeLessThanOrEqual(tol);
          expect(Math.abs(Y(0, ow - 1) - X(0, g.W - 1))).toBeLessThanOrEqual(tol);
          expect(Math.abs(Y(oh - 1, 0) - X(g.H - 1, 0))).toBeLessThanOrEqual(tol);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('2x bilinear upsampling (align_corners false) of a ramp is linear inside the border', () => {
    const W = 8;
    const x = new Tensor('f32', [1, 1, 1, W], Float32Array.from({ length: W }, (_, i) => i));
    const y = interpolate(x, { mode: 'bilinear', size: [1, 2 * W] });
    // source index (o + 0.5)/2 - 0.5: 0 (clamped), 0.25, 0.75, ... , 7 (last clamps to the edge)
    expect(Array.from(y.f32)).toEqual([0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25, 5.75, 6.25, 6.75, 7]);
  });

  it('scaleFactor steps the source by 1/s; recomputeScaleFactor by in/out', () => {
    const x = new Tensor('f32', [1, 1, 1, 4], Float32Array.from([0, 1, 2, 3]));
    // 4 * 1.7 = 6.8 -> 6 outputs. Step 1/1.7 (not 4/6): o=1 samples 1.5/1.7 - 0.5 = 0.38235...
    const a = interpolate(x, { mode: 'bilinear', scaleFactor: [1, 1.7] });
    const b = interpolate(x, { mode: 'bilinear', scaleFactor: [1, 1.7], recomputeScaleFactor: true });
    expect(a.shape).toEqual([1, 1, 1, 6]);
    expect(a.f32[1]).toBe(Math.fround(Math.fround(1 / 1.7) * 1.5 - 0.5));
    expect(b.f32[1]).toBe(Math.fround(Math.fround(4 / 6) * 1.5 - 0.5));
  });
});

describe('resizeImage (torchvision)', () => {
  it('one size resizes the shorter edge, keeping the aspect ratio (truncating)', () => {
    const x = new Tensor('f32', [3, 30, 41]);
    expect(resizeImage(x, 12).shape).toEqual([3, 12, 16]); // int(12 * 41 / 30) = 16
    expect(resizeImage(new Tensor('f32', [1, 3, 41, 30]), [12]).shape).toEqual([1, 3, 16, 12]);
    expect(resizeImage(x, [5, 7]).shape).toEqual([3, 5, 7]);
    expect(resizeImage(x, 12, { maxSize: 14 }).shape).toEqual([3, 10, 14]); // long capped, short = int(14 * 12 / 16)
  });
  it('returns the input when the size already matches', () => {
    const x = new Tensor('f32', [1, 3, 8, 8]);
    expect(resizeImage(x, 8)).toBe(x);
  });
  it('rejects bad sizes and inputs', () => {
    const x = new Tensor('f32', [1, 3, 8, 8]);
    expect(() => resizeImage(x, 0)).toThrow(ValueError);
    expect(() => resizeImage(x, [1, 2, 3] as never)).toThrow(/1 or 2 entries/);
    expect(() => resizeImage(x, 4, { maxSize: 3 })).toThrow(/maxSize/);
    expect(() => resizeImage(x, [4, 4], { maxSize: 9 })).toThrow(/maxSize/);
    expect(() => resizeImage(new Tensor('f32', [8, 8]), 4)).toThrow(/resizeImage.*\[8,8\]/);
    expect(() => resizeImage(new Tensor('u8', [1, 3, 8, 8]) as never, 4)).toThrow(DTypeError);
  });
});

describe('interpolate / interpolatePosEmbed errors', () => {
  const x = new Tensor('f32', [1, 1, 4, 4]);
  it('interpolate', () => {
    expect(() => interpolate(new Tensor('f32', [4, 4]), { mode: 'bilinear', size: 2 })).toThrow(ShapeError);
    expect(() => interpolate(new Tensor('i32', [1, 1, 4, 4]) as never, { mode: 'bilinear', size: 2 })).toThrow(DTypeError);
    expect(() => interpolate(x, { mode: 'nearest' as never, size: 2 })).toThrow(/mode/);
    expect(() => interpolate(x, { mode: 'bilinear' })).toThrow(/exactly one of size and scaleFactor/);
    expect(() => interpolate(x, { mode: 'bilinear', size: 2, scaleFactor: 2 })).toThrow(/exactly one/);
    expect(() => interpolate(x, { mode: 'bilinear', size: [2, 0] })).toThrow(ValueError);
    expect(() => interpolate(x, { mode: 'bilinear', size: [2, 2.5] })).toThrow(ValueError);
    expect(() => interpolate(x, { mode: 'bilinear', scaleFactor: NaN })).toThrow(/scaleFactor must be finite/);
    expect(() => interpolate(x, { mode: 'bilinear', scaleFactor: 0.1 })).toThrow(/output size \[0,0\]/);
    expect(() => interpolate(x, { mode: 'bilinear', size: 2, recomputeScaleFactor: true })).toThrow(ValueError);
  });
  it('interpolatePosEmbed', () => {
    const pos = new Tensor('f32', [1, 1 + 16, 3]);
    expect(() => interpolatePosEmbed(new Tensor('f32', [1, 1 + 15, 3]), 3, 3, { numPrefixTokens: 1 })).toThrow(/not a square grid/);
    expect(() => interpolatePosEmbed(new Tensor('f32', [2, 17, 3]), 3, 3, { numPrefixTokens: 1 })).toThrow(/interpolatePosEmbed.*\[2,17,3\]/);
    expect(() => interpolatePosEmbed(pos, 0, 3, { numPrefixTokens: 1 })).toThrow(ValueError);
    expect(() => interpolatePosEmbed(pos, 3, 3, { numPrefixTokens: 1, offset: NaN })).toThrow(/offset/);
    expect(() => interpolatePosEmbed(pos, 3, 3, { numPrefixTokens: -1 })).toThrow(/numPrefixTokens/);
    // an offset so large that floor((t + offset)) overshoots the target
    expect(() => interpolatePosEmbed(pos, 3, 3, { numPrefixTokens: 1, offset: 1.5 })).toThrow(/not the target 3x3/);
  });
  it('interpolatePosEmbed keeps prefix tokens and orders grid tokens row-major', () => {
    // A 2x2 grid whose embedding is (row, col); resized to 2x3 (size form) column values grow along a row.
    const pos = new Tensor('f32', [1, 1 + 4, 2], Float32Array.from([9, 9, 0, 0, 0, 1, 1, 0, 1, 1]));
    const y = interpolatePosEmbed(pos, 2, 3, { numPrefixTokens: 1, offset: 0 });
    expect(y.shape).toEqual([1, 7, 2]);
    expect([y.f32[0], y.f32[1]]).toEqual([9, 9]);
    const col = (t: number) => y.f32[(1 + t) * 2 + 1];
    expect(col(0)).toBeLessThan(col(1));
    expect(col(1)).toBeLessThan(col(2));
    expect(y.f32[(1 + 0) * 2]).toBeLessThan(y.f32[(1 + 3) * 2]); // row grows down
  });
});

describe('axisTaps are torch 1.13 taps, bit for bit (one-hot probes)', () => {
  for (const c of loadCases('taps')) {
    it(c.name, () => {
      const p = c.params;
      const ref = f32Of(c.w); // (outSize, inSize): W[o, k] = weight of input k in output o
      const t = axisTaps(p.inSize, p.outSize, p.mode, p.alignCorners, p.antialias);
      const mine = new Float32Array(p.outSize * p.inSize);
      // Taps clamped onto the same border index add up (float32, tap order), as in torch's probe.
      for (let o = 0; o < p.outSize; o++) {
        for (let j = 0; j < t.count[o]; j++) {
          const k = o * p.inSize + t.index[o * t.taps + j];
          mine[k] = Math.fround(mine[k] + t.weight[o * t.taps + j]);
        }
      }
      expect(Array.from(mine)).toEqual(Array.from(ref.f32));
    });
  }
});
