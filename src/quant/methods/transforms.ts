/**
 * The equivalent transforms, written once (SmoothQuant, AWQ scaling and OmniQuant's LET all fold
 * a per-channel scale s (and optionally a shift δ) between a LayerNorm and the Linears it feeds):
 *
 *   LN.w' = w / s                 LN.b' = (b - δ) / s
 *   W'[:, j] = W[:, j] s_j        b'   = b + W δ         (W before scaling)
 *   so x' = (x - δ) / s and  x' W'ᵀ + b' = x Wᵀ + b  in exact arithmetic.
 *
 * float32 semantics: each stored value is one fr() of its exact result (torch's in-place div_/mul_);
 * W δ is a float32 GEMV accumulated k ascending.
 */
import { ShapeError, fmtShape } from '../../tensor/errors.js';
import { Tensor } from '../../tensor/tensor.js';
import type { NormParams } from '../seam.js';

const fr = Math.fround;

/** @throws ShapeError unless t is a 2-D f32 tensor */
export function check2d(where: string, what: string, t: Tensor): void {
  if (t.dtype !== 'f32' || t.ndim !== 2) throw new ShapeError(where, `${what} must be f32 (rows, cols), got ${t.dtype} ${fmtShape(t.shape)}`);
}

function checkLen(where: string, what: string, n: number, v: Float32Array): void {
  if (v.length !== n) throw new ShapeError(where, `${what} has ${v.length} channels, expected ${n}`);
}

/** LN.w' = fr(w / s), LN.b' = fr(fr(b - δ) / s). */
export function smoothNorm(norm: NormParams, s: Float32Array, shift?: Float32Array): NormParams {
  const D = norm.weight.size;
  checkLen('smoothNorm', 'scales', D, s);
  if (shift) checkLen('smoothNorm', 'shifts', D, shift);
  const w = new Float32Array(D);
  const b = new Float32Array(D);
  for (let j = 0; j < D; j++) {
    w[j] = fr(norm.weight.f32[j] / s[j]);
    b[j] = fr((shift ? fr(norm.bias.f32[j] - shift[j]) : norm.bias.f32[j]) / s[j]);
  }
  return { weight: new Tensor('f32', [D], w), bias: new Tensor('f32', [D], b) };
}

/** W'[:, j] = fr(W[:, j] s_j). @param w (out, in) */
export function scaleColumns(w: Tensor<'f32'>, s: Float32Array): Tensor<'f32'> {
  check2d('scaleColumns', 'w', w);
  const [O, I] = w.shape;
  checkLen('scaleColumns', 'scales', I, s);
  const out = new Float32Array(O * I);
  const W = w.f32;
  for (let o = 0; o < O; o++) for (let j = 0; j < I; j++) out[o * I + j] = fr(W[o * I + j] * s[j]);
  return new Tensor('f32', [O, I], out);
}

/**
 * W'[:, j] = fr(W[:, j] / s_j): undo a column scaling (AWQ's W' = Q(W s) / s), and what a Linear
 * behind AWQ's ScaledActivation receives (llm-awq's `act(x) / scales`, src/nn/layers.ts Mlp).
 */
export function divideColumns(w: Tensor<'f32'>, s: Float32Array): Tensor<'f32'> {
  check2d('divideColumns', 'w', w);
  const [R, C] = w.shape;
  checkLen('divideColumns', 'scales', C, s);
  const out = new Float32Array(R * C);
  const W = w.f32;
  for (let r = 0; r < R; r++) for (let j = 0; j < C; j++) out[r * C + j] = fr(W[r * C + j] / s[j]);
  return new Tensor('f32', w.shape, out);
}

/** Rows r of W divided by s_r (scale_fc_fc: the earlier Linear's output channels). @param w (out, in) */
export function divideRows(w: Tensor<'f32'>, rows: [number, number], s: Float32Array): Tensor<'f32'> {
  check2d('divideRows', 'w', w);
  const [O, I] = w.shape;
  const [r0, r1] = rows;
  if (r0 < 0 || r1 > O || r1 - r0 !== s.length) throw new ShapeError('divideRows', `rows [${r0}, ${r1}) of ${fmtShape(w.shape)} for ${s.length} scales`);
  const out = w.f32.slice();
  for (let r = r0; r < r1; r++) for (let j = 0; j < I; j++) out[r * I + j] = fr(out[r * I + j] / s[r - r0]);
  return new Tensor('f32', [O, I], out);
}

/** b' = b + W δ (float32, k ascending); a missing bias counts as 0. @param w (out, in) */
export function shiftBias(w: Tensor<'f32'>, bias: Tensor<'f32'> | null, shift: Float32Array): Tensor<'f32'> {
  check2d('shiftBias', 'w', w);
  const [O, I] = w.shape;
  if (bias && bias.size !== O) throw new ShapeError('shiftBias', `bias ${fmtShape(bias.shape)} for weight ${fmtShape(w.shape)}`);
  checkLen('shiftBias', 'shifts', I, shift);
  const out = new Float32Array(O);
  const W = w.f32;
  for (let o = 0; o < O; o++) {
    let acc = 0;
    for (let j = 0; j < I; j++) acc = fr(acc + fr(W[o * I + j] * shift[j]));
    out[o] = bias ? fr(bias.f32[o] + acc) : acc;
  }
  return new Tensor('f32', [O], out);
}

/** x' = fr(fr(x - δ) / s) per column: what the transformed LayerNorm feeds the Linears. @param x (N, in) */
export function transformInputs(x: Tensor<'f32'>, s: Float32Array, shift?: Float32Array): Tensor<'f32'> {
  check2d('transformInputs', 'x', x);
  const [N, I] = x.shape;
  if (shift) checkLen('transformInputs', 'shifts', I, shift);
  checkLen('transformInputs', 'scales', I, s);
  const out = new Float32Array(N * I);
  const X = x.f32;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < I; j++) {
      const v = shift ? fr(X[n * I + j] - shift[j]) : X[n * I + j];
      out[n * I + j] = fr(v / s[j]);
    }
  }
  return new Tensor('f32', [N, I], out);
}

/** Per-column max |x| over rows (SmoothQuant's act_scales). @param x (N, in) */
export function columnAbsMax(x: Tensor<'f32'>): Float32Array {
  check2d('columnAbsMax', 'x', x);
  const [N, I] = x.shape;
  const out = new Float32Array(I);
  const X = x.f32;
  for (let n = 0; n < N; n++) for (let j = 0; j < I; j++) out[j] = Math.max(out[j], Math.abs(X[n * I + j]));
  return out;
}

/** Per-column max over rows of |W| for several (out, in) weights sharing `in` (SmoothQuant's weight_scales). */
export function weightColumnAbsMax(ws: readonly Tensor<'f32'>[]): Float32Array {
  if (ws.length === 0) throw new ShapeError('weightColumnAbsMax', 'no weights');
  for (const w of ws) check2d('weightColumnAbsMax', 'w', w);
  const I = ws[0].shape[1];
  const out = new Float32Array(I);
  for (const w of ws) {
    if (w.shape[1] !== I) throw new ShapeError('weightColumnAbsMax', `weights of widths ${I} and ${w.shape[1]}`);
    const W = w.f32;
    for (let o = 0; o < w.shape[0]; o++) for (let j = 0; j < I; j++) out[j] = Math.max(out[j], Math.abs(W[o * I + j]));
  }
  return out;
}
