/**
 * Fused multi-head attention, the twin of the reference-op composition the layers use
 * (`attentionRef` below, as src/nn/layers.ts Attention writes it):
 *
 *   q' = scaleAt 'q' ? scale(q, s) : q
 *   dots = matmul(q', k, transB);  dots = scaleAt 'dots' ? scale(dots, s) : dots
 *   out = matmul(softmax(dots, -1, mask), v)
 *
 * Bound vs that composition: 0, bit-exact (attention-emit.ts explains why: lanes run over
 * output columns, each sum keeps the reference GEMM's order, the softmax is the reference's).
 * One kernel call covers all B·H heads: no (B·H) GEMM calls, no (B, H, N, N) tensors, no
 * permutes. `attentionQkv` reads q, k, v straight out of the fused qkv projection and writes
 * the merged-heads layout the output projection consumes.
 *
 * Fast path: dh % 4 == 0 and a u8 mask that is an (N, N) table (leading 1s allowed) or none;
 * anything else (and no SIMD128) runs the reference composition.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { matmul } from '../ops/matmul.js';
import { scale as scaleOp } from '../ops/elementwise.js';
import { permute, slice } from '../ops/shape.js';
import { checkF32, checkNumber } from '../ops/util.js';
import { compileKernel } from '../wasm/compile.js';
import { kernelName } from '../wasm/spec.js';
import { hasSimd128 } from '../wasm/probe.js';
import { runTasks } from '../threads/pool.js';
import { softmax as softmaxRef } from '../ops/softmax.js';
import { ATTENTION_EXPORT, ATTENTION_SPEC, ATTN_PARAM, ATTN_PARAM_BYTES, ATTN_SCALE_AT, attentionScratchBytes, emitAttention } from './attention-emit.js';
import { allocF32, copyIn, onHeap, splitRange, threadsFor, withHeap } from './stage.js';
import { checkTwin, validating } from './validate.js';

export interface AttentionOptions {
  /** u8 mask broadcastable to (B, H, N, N), 1 = visible (the frame-causal (N, N) table); null: none */
  readonly mask?: Tensor | null;
  /** where the scale multiplies: 'q' (DINOv2: q before q·kᵀ) or 'dots' (DINO-WM predictor) */
  readonly scaleAt: 'q' | 'dots';
  /** default 1 / sqrt(dh) (a float64, as the layers compute it) */
  readonly scale?: number;
}

function scaleOf(op: string, dh: number, opts: AttentionOptions): number {
  if (opts.scaleAt !== 'q' && opts.scaleAt !== 'dots') throw new ValueError(op, `scaleAt must be 'q' or 'dots', got ${String(opts.scaleAt)}`);
  const s = opts.scale ?? 1 / Math.sqrt(dh);
  checkNumber(op, 'scale', s);
  return s;
}

/** The reference composition (plain ops): the twin the fused kernel equals bit for bit. */
export function attentionRef(q: Tensor<'f32'>, k: Tensor<'f32'>, v: Tensor<'f32'>, opts: AttentionOptions): Tensor<'f32'> {
  const dh = checkQkv('attention', q, k, v);
  const s = scaleOf('attention', dh, opts);
  const qq = opts.scaleAt === 'q' ? scaleOp(q, s) : q;
  let dots = matmul(qq, k, { transB: true });
  if (opts.scaleAt === 'dots') dots = scaleOp(dots, s);
  return matmul(softmaxRef(dots, -1, opts.mask ?? null), v);
}

/** Shapes of q, k, v: all f32 (B, H, N, dh) and equal. Returns dh. */
function checkQkv(op: string, q: Tensor, k: Tensor, v: Tensor): number {
  checkF32(op, q, k, v);
  if (q.ndim !== 4) throw new ShapeError(op, `q must be (B, H, N, dh), got ${fmtShape(q.shape)}`);
  for (const [name, t] of [['k', k], ['v', v]] as const) {
    if (t.ndim !== 4 || t.shape.some((d, i) => d !== q.shape[i])) throw new ShapeError(op, `${name} ${fmtShape(t.shape)} must equal q ${fmtShape(q.shape)}`);
  }
  return q.shape[3];
}

/** Is `mask` a u8 (N, N) table (leading 1s allowed) the kernel can read directly? */
function kernelMask(mask: Tensor | null | undefined, N: number): boolean {
  if (!mask) return true;
  if (mask.dtype !== 'u8') return false;
  let lead = 0;
  while (lead < mask.ndim - 2 && mask.shape[lead] === 1) lead++;
  return mask.ndim - lead === 2 && mask.shape[lead] === N && mask.shape[lead + 1] === N;
}

interface Layout {
  /** byte offsets of q, k, v, out inside their heap buffers, and byte strides (b, h, n) */
  q: number;
  k: number;
  v: number;
  o: number;
  sq: [number, number, number];
  sk: [number, number, number];
  sv: [number, number, number];
  so: [number, number, number];
}

/** Run the kernel over B·H heads; inputs are already in the heap at the layout's offsets. */
function runKernel(B: number, H: number, N: number, dh: number, s: number, scaleAt: 'q' | 'dots', maskPtr: number, lay: Layout): void {
  const kern = compileKernel(ATTENTION_SPEC, emitAttention);
  const ranges = splitRange(B * H, threadsFor(B * H * N * N * dh));
  const scr = attentionScratchBytes(N, dh);
  withHeap([ATTN_PARAM_BYTES, scr * ranges.length], ([prm, ps]) => {
    const w = new Int32Array(ATTN_PARAM_BYTES / 4);
    const P = ATTN_PARAM;
    w[P.N] = N;
    w[P.dh] = dh;
    w[P.H] = H;
    w[P.mode] = scaleAt === 'q' ? 1 : 2;
    w[P.mask] = maskPtr;
    w[P.q] = lay.q;
    w[P.k] = lay.k;
    w[P.v] = lay.v;
    w[P.o] = lay.o;
    [w[P.sQb], w[P.sQh], w[P.sQn]] = lay.sq;
    [w[P.sKb], w[P.sKh], w[P.sKn]] = lay.sk;
    [w[P.sVb], w[P.sVh], w[P.sVn]] = lay.sv;
    [w[P.sOb], w[P.sOh], w[P.sOn]] = lay.so;
    new Float64Array(w.buffer, ATTN_SCALE_AT, 1)[0] = s;
    copyIn(w, prm);
    runTasks(kern, ATTENTION_EXPORT, ranges.map(([a, b], t) => [prm, a, b, ps + t * scr]));
  });
}

/**
 * softmax(q kᵀ · s, masked) v per (batch, head), bit-identical to `attentionRef`.
 * @param q (B, H, N, dh) @param k (B, H, N, dh) @param v (B, H, N, dh)
 * @returns (B, H, N, dh)
 */
export function attention(q: Tensor<'f32'>, k: Tensor<'f32'>, v: Tensor<'f32'>, opts: AttentionOptions): Tensor<'f32'> {
  const dh = checkQkv('attention', q, k, v);
  const [B, H, N] = q.shape;
  const s = scaleOf('attention', dh, opts);
  if (q.size === 0 || dh % 4 !== 0 || !kernelMask(opts.mask, N) || !hasSimd128()) return attentionRef(q, k, v, opts);
  const mask = opts.mask ?? null;
  const bytes = q.size * 4;
  const out = allocF32(q.size);
  const ins = [q.data as Float32Array, k.data as Float32Array, v.data as Float32Array, ...(mask ? [(mask.data as Uint8Array).subarray(0, N * N)] : [])];
  onHeap(ins, [out], [], ([pq, pk, pv, pm = 0], [po]) => {
    const st: [number, number, number] = [H * N * dh * 4, N * dh * 4, dh * 4];
    runKernel(B, H, N, dh, s, opts.scaleAt, pm, { q: pq, k: pk, v: pv, o: po, sq: st, sk: st, sv: st, so: st });
  });
  if (validating()) checkTwin(kernelName(ATTENTION_SPEC), out, () => attentionRef(q, k, v, opts).data as Float32Array);
  return new Tensor('f32', q.shape, out);
}

/** The reference composition for a fused qkv projection, as src/nn/layers.ts writes it. */
export function attentionQkvRef(qkv: Tensor<'f32'>, heads: number, opts: AttentionOptions): Tensor<'f32'> {
  const [B, N, H, dh] = checkFused('attentionQkv', qkv, heads);
  const t = permute(qkv.reshape([B, N, 3, H, dh]), [2, 0, 3, 1, 4]); // (3, B, H, N, dh)
  const part = (i: number) => slice(t, 0, i, i + 1).reshape([B, H, N, dh]);
  const o = attentionRef(part(0), part(1), part(2), opts);
  return permute(o, [0, 2, 1, 3]).reshape([B, N, H * dh]);
}

/** Shape of a fused qkv tensor: (B, N, 3·H·dh) or (B, N, 3, H, dh). Returns [B, N, H, dh]. */
function checkFused(op: string, qkv: Tensor, heads: number): [number, number, number, number] {
  checkF32(op, qkv);
  if (!Number.isInteger(heads) || heads < 1) throw new ValueError(op, `heads must be an integer >= 1, got ${heads}`);
  const s = qkv.shape;
  if (s.length === 5 && s[2] === 3 && s[3] === heads) return [s[0], s[1], heads, s[4]];
  if (s.length === 3 && s[2] % (3 * heads) === 0) return [s[0], s[1], heads, s[2] / (3 * heads)];
  throw new ShapeError(op, `qkv must be (B, N, 3·${heads}·dh) or (B, N, 3, ${heads}, dh), got ${fmtShape(s)}`);
}

/**
 * Attention straight from the fused qkv projection output, heads merged on the way out:
 * bit-identical to `attentionQkvRef` (split heads, attention, merge heads).
 * @param qkv (B, N, 3·H·dh) (or (B, N, 3, H, dh)): q, k, v of head h at columns (c·H + h)·dh, c = 0, 1, 2
 * @param heads H
 * @returns (B, N, H·dh)
 */
export function attentionQkv(qkv: Tensor<'f32'>, heads: number, opts: AttentionOptions): Tensor<'f32'> {
  const [B, N, H, dh] = checkFused('attentionQkv', qkv, heads);
  const s = scaleOf('attentionQkv', dh, opts);
  if (qkv.size === 0 || dh % 4 !== 0 || !kernelMask(opts.mask, N) || !hasSimd128()) return attentionQkvRef(qkv, heads, opts);
  const mask = opts.mask ?? null;
  const row = 3 * H * dh;
  const outSize = B * N * H * dh;
  const out = allocF32(outSize);
  const ins = [qkv.data as Float32Array, ...(mask ? [(mask.data as Uint8Array).subarray(0, N * N)] : [])];
  onHeap(ins, [out], [], ([pin, pm = 0], [po]) => {
    const sin: [number, number, number] = [N * row * 4, dh * 4, row * 4];
    const so: [number, number, number] = [N * H * dh * 4, dh * 4, H * dh * 4];
    runKernel(B, H, N, dh, s, opts.scaleAt, pm, { q: pin, k: pin + H * dh * 4, v: pin + 2 * H * dh * 4, o: po, sq: sin, sk: sin, sv: sin, so });
  });
  if (validating()) checkTwin(kernelName(ATTENTION_SPEC), out, () => attentionQkvRef(qkv, heads, opts).data as Float32Array);
  return new Tensor('f32', [B, N, H * dh], out);
}
