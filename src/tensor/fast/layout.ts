/**
 * Fast layout ops, twins of ../ops/shape.ts (permute, slice, concat) plus the two head
 * layouts the attention block needs. Plain TypeScript: these are copies, so the work is
 * choosing long contiguous runs (one `set` per run when it is long, a tight loop when it is
 * short) instead of the reference's per-element index table or per-row `set` calls.
 *
 * Bound vs the reference: 0, bit-exact (values are copied, never computed). Invalid
 * arguments are handed to the reference, which throws its usual typed error.
 */
import { Tensor } from '../tensor.js';
import { concat as concatRef, permute as permuteRef, slice as sliceRef } from '../ops/shape.js';
import { checkF32, prod, stridesOf } from '../ops/util.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { allocF32 } from './stage.js';

/** Runs shorter than this are copied by a loop; longer ones by TypedArray.set. */
const SET_MIN = 48;

function copyRun(src: Float32Array, so: number, dst: Float32Array, d0: number, len: number): void {
  if (len >= SET_MIN) dst.set(src.subarray(so, so + len), d0);
  else for (let i = 0; i < len; i++) dst[d0 + i] = src[so + i];
}

/**
 * Axes reordered: out.shape[i] = x.shape[perm[i]] (torch.permute), copied; as ../ops permute.
 * Size-1 axes are dropped and output axes that stay contiguous in x are merged first, so
 * e.g. (B, N, 3, H, dh) -> (3, B, H, N, dh) copies runs of dh.
 */
export function permute(x: Tensor<'f32'>, perm: readonly number[]): Tensor<'f32'> {
  checkF32('permute', x);
  const nd = x.ndim;
  const p = perm.map((a) => (a < 0 ? a + nd : a));
  if (p.length !== nd || p.some((a, i) => !Number.isInteger(a) || a < 0 || a >= nd || p.indexOf(a) !== i)) return permuteRef(x, perm);
  const shape = p.map((a) => x.shape[a]);
  const xs = stridesOf(x.shape);
  const X = x.data as Float32Array;
  const out = allocF32(x.size);
  if (x.size === 0) return new Tensor('f32', shape, out);
  // merged dims D (outer to inner) with input strides S
  const D: number[] = [];
  const S: number[] = [];
  for (let i = 0; i < nd; i++) {
    const n = shape[i];
    const s = xs[p[i]];
    if (n === 1) continue;
    if (D.length > 0 && S[S.length - 1] === s * n) {
      D[D.length - 1] *= n;
      S[S.length - 1] = s;
    } else {
      D.push(n);
      S.push(s);
    }
  }
  if (D.length === 0) {
    out[0] = X[0];
    return new Tensor('f32', shape, out);
  }
  const k = D.length - 1;
  const len = D[k];
  const st = S[k];
  const outer = x.size / len;
  const idx = new Array<number>(k).fill(0);
  let off = 0;
  for (let o = 0, w = 0; o < outer; o++, w += len) {
    if (st === 1) copyRun(X, off, out, w, len);
    else for (let i = 0, s = off; i < len; i++, s += st) out[w + i] = X[s];
    // odometer over the outer merged dims
    for (let d = k - 1; d >= 0; d--) {
      off += S[d];
      if (++idx[d] < D[d]) break;
      off -= S[d] * D[d];
      idx[d] = 0;
    }
  }
  return new Tensor('f32', shape, out);
}

/**
 * Elements start..end-1 along `axis`, copied; as ../ops slice (step 1: one contiguous run per
 * outer index; other steps run the reference).
 */
export function slice(x: Tensor<'f32'>, axis: number, start: number, end?: number, step = 1): Tensor<'f32'> {
  checkF32('slice', x);
  const nd = x.ndim;
  const ax = axis < 0 ? axis + nd : axis;
  if (step !== 1 || !Number.isInteger(ax) || ax < 0 || ax >= nd) return sliceRef(x, axis, start, end, step);
  const n = x.shape[ax];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > n || s > e) return sliceRef(x, axis, start, end, step);
  const inner = prod(x.shape, ax + 1);
  const outerN = prod(x.shape, 0, ax);
  const run = (e - s) * inner;
  const X = x.data as Float32Array;
  const out = allocF32(outerN * run);
  for (let o = 0; o < outerN; o++) copyRun(X, (o * n + s) * inner, out, o * run, run);
  const shape = x.shape.slice();
  shape[ax] = e - s;
  return new Tensor('f32', shape, out);
}

/** Concatenate along `axis` (torch.cat); as ../ops concat, one run per tensor per outer index. */
export function concat(xs: readonly Tensor<'f32'>[], axis = 0): Tensor<'f32'> {
  if (xs.length === 0) return concatRef(xs, axis);
  checkF32('concat', ...xs);
  const first = xs[0];
  const nd = first.ndim;
  const ax = axis < 0 ? axis + nd : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= nd) return concatRef(xs, axis);
  let total = 0;
  for (const t of xs) {
    if (t.ndim !== nd || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) return concatRef(xs, axis);
    total += t.shape[ax];
  }
  const inner = prod(first.shape, ax + 1);
  const outerN = prod(first.shape, 0, ax);
  const row = total * inner;
  const out = allocF32(outerN * row);
  let at = 0;
  for (const t of xs) {
    const w = t.shape[ax] * inner;
    const T = t.data as Float32Array;
    for (let o = 0; o < outerN; o++) copyRun(T, o * w, out, o * row + at, w);
    at += w;
  }
  const shape = first.shape.slice();
  shape[ax] = total;
  return new Tensor('f32', shape, out);
}

/**
 * Split a fused qkv projection into heads: (B, N, 3·H·dh) (or (B, N, 3, H, dh)) -> q, k, v as
 * (B, H, N, dh); equals permute(reshape(qkv, [B, N, 3, H, dh]), [2, 0, 3, 1, 4]) sliced along 0.
 */
export function splitHeads(qkv: Tensor<'f32'>, heads: number): { q: Tensor<'f32'>; k: Tensor<'f32'>; v: Tensor<'f32'> } {
  const op = 'splitHeads';
  checkF32(op, qkv);
  if (!Number.isInteger(heads) || heads < 1) throw new ValueError(op, `heads must be an integer >= 1, got ${heads}`);
  const s = qkv.shape;
  const five = s.length === 5 && s[2] === 3 && s[3] === heads;
  if (!five && !(s.length === 3 && s[2] % (3 * heads) === 0)) {
    throw new ShapeError(op, `qkv must be (B, N, 3·${heads}·dh) or (B, N, 3, ${heads}, dh), got ${fmtShape(s)}`);
  }
  const [B, N] = s;
  const H = heads;
  const dh = five ? s[4] : s[2] / (3 * H);
  const X = qkv.data as Float32Array;
  const parts = [0, 1, 2].map(() => allocF32(B * H * N * dh));
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const src = (b * N + n) * 3 * H * dh;
      for (let c = 0; c < 3; c++) {
        const P = parts[c];
        for (let h = 0; h < H; h++) copyRun(X, src + (c * H + h) * dh, P, ((b * H + h) * N + n) * dh, dh);
      }
    }
  }
  const t = (d: Float32Array) => new Tensor('f32', [B, H, N, dh], d);
  return { q: t(parts[0]), k: t(parts[1]), v: t(parts[2]) };
}

/** Merge heads: (B, H, N, dh) -> (B, N, H·dh); equals reshape(permute(x, [0, 2, 1, 3]), [B, N, H·dh]). */
export function mergeHeads(x: Tensor<'f32'>): Tensor<'f32'> {
  const op = 'mergeHeads';
  checkF32(op, x);
  if (x.ndim !== 4) throw new ShapeError(op, `x must be (B, H, N, dh), got ${fmtShape(x.shape)}`);
  const [B, H, N, dh] = x.shape;
  const X = x.data as Float32Array;
  const out = allocF32(x.size);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let n = 0; n < N; n++) copyRun(X, ((b * H + h) * N + n) * dh, out, ((b * N + n) * H + h) * dh, dh);
    }
  }
  return new Tensor('f32', [B, N, H * dh], out);
}
