/**
 * interpolate / resizeImage / interpolatePosEmbed against torch 1.13 + torchvision 0.14 golden
 * fixtures (test/fixtures/image_ops, made by scripts/golden/image_ops.py) and properties.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../../src/tensor/errors.js';
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
export function u8Pattern(h: number, w: number, c: number): Tensor<'u8'> {
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
