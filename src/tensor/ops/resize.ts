/**
 * Reference semantics for bilinear / bicubic resizing of (B, C, H, W) float32 images as torch 1.13
 * `torch.nn.functional.interpolate` on CPU (align_corners, antialias, size vs scale_factor),
 * torchvision 0.14 `transforms.functional.resize` on tensors, and DINOv2's
 * `interpolate_pos_encoding`. The taps (indices and float32 weights) are torch's, bit for bit
 * (resize-weights.ts). The last axis (W) is resampled first into a float32 buffer, then H, as
 * ATen's separable kernels do; a 2-tap linear output is x0*w0 + x1*w1 rounded once, any other
 * output sums float32 products tap 0 first. Torch's compiled kernels contract and vectorize
 * these sums in ways that depend on the build, so outputs agree with torch within the float32
 * dot-product bound (gamma_(nh+nw) * sum |wh ww x| on each side), typically to an ulp.
 * Never optimized: speed lives in ../wasm.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { axisTaps, type AxisTaps, type InterpMode } from './resize-weights.js';

export type { AxisTaps, InterpMode } from './resize-weights.js';
export { axisTaps } from './resize-weights.js';

const fr = Math.fround;

export interface InterpolateOptions {
  mode: InterpMode;
  /** Output (H, W); exactly one of `size` and `scaleFactor`. */
  size?: number | readonly [number, number];
  /**
   * Per-axis (or shared) scale factor. Output = floor(in * s). Unless `recomputeScaleFactor`,
   * torch then steps the source by 1/s (not in/out), which shifts the sampling grid.
   */
  scaleFactor?: number | readonly [number, number];
  /** Default false. */
  alignCorners?: boolean;
  /** PIL-style filter widened by the downscale factor. Default false. */
  antialias?: boolean;
  /** torch's recompute_scale_factor: derive the output size, then forget the factor. */
  recomputeScaleFactor?: boolean;
}

function checkImage(op: string, x: Tensor): void {
  if (x.dtype !== 'f32') throw new DTypeError(op, `x must be f32, got ${x.dtype} ${fmtShape(x.shape)}`);
  if (x.ndim !== 4) throw new ShapeError(op, `x must be (B, C, H, W), got ${fmtShape(x.shape)}`);
  if (x.shape[2] <= 0 || x.shape[3] <= 0) throw new ShapeError(op, `input spatial size must be > 0, got ${fmtShape(x.shape)}`);
}

function pair(op: string, what: string, v: number | readonly number[]): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (v.length !== 2) throw new ValueError(op, `${what} must be a number or a pair, got [${v.join(',')}]`);
  return [v[0], v[1]];
}

/**
 * One output of an axis: the taps of output `o` applied to `src[base + index * stride]`.
 * 'pair' (2-tap linear): x0*w0 + x1*w1 rounded once to float32, as torch's AVX2 kernel gives;
 * 'chain': float32 products and sums, tap 0 first.
 */
function tapSum(t: AxisTaps, o: number, src: Float32Array, base: number, stride: number): number {
  const b = o * t.taps;
  if (t.sum === 'pair') {
    return fr(src[base + t.index[b] * stride] * t.weight[b] + src[base + t.index[b + 1] * stride] * t.weight[b + 1]);
  }
  let acc = fr(src[base + t.index[b] * stride] * t.weight[b]);
  for (let j = 1; j < t.count[o]; j++) acc = fr(acc + fr(src[base + t.index[b + j] * stride] * t.weight[b + j]));
  return acc;
}

/**
 * Resample (N, H, W) planes: W with `tw` into a float32 buffer, then H with `th` (torch's order:
 * its 2-D kernel evaluates the W interpolation of each tapped row, then combines the rows).
 * @param src (N, H, W) float32
 * @returns (N, th.outSize, tw.outSize)
 */
export function resampleSeparable(src: Float32Array, N: number, th: AxisTaps, tw: AxisTaps): Float32Array {
  const H = th.inSize;
  const W = tw.inSize;
  const Ho = th.outSize;
  const Wo = tw.outSize;
  const tmp = new Float32Array(N * H * Wo);
  for (let r = 0; r < N * H; r++) {
    for (let o = 0; o < Wo; o++) tmp[r * Wo + o] = tapSum(tw, o, src, r * W, 1);
  }
  const out = new Float32Array(N * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < Ho; o++) {
      const d0 = (n * Ho + o) * Wo;
      for (let c = 0; c < Wo; c++) out[d0 + c] = tapSum(th, o, tmp, n * H * Wo + c, Wo);
    }
  }
  return out;
}

/** The output size and the per-axis factor torch hands its kernels, from `interpolate` options. */
export function interpolateGeometry(
  op: string,
  inH: number,
  inW: number,
  opts: InterpolateOptions,
): { outH: number; outW: number; scaleH?: number; scaleW?: number } {
  const hasSize = opts.size !== undefined;
  const hasScale = opts.scaleFactor !== undefined;
  if (hasSize === hasScale) throw new ValueError(op, 'exactly one of size and scaleFactor must be given');
  if (hasSize) {
    if (opts.recomputeScaleFactor) throw new ValueError(op, 'recomputeScaleFactor is not meaningful with an explicit size');
    const [outH, outW] = pair(op, 'size', opts.size!);
    if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH <= 0 || outW <= 0) {
      throw new ValueError(op, `output size must be positive integers, got [${outH},${outW}] for input [${inH},${inW}]`);
    }
    return { outH, outW };
  }
  const [sh, sw] = pair(op, 'scaleFactor', opts.scaleFactor!);
  for (const s of [sh, sw]) {
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) {
      throw new ValueError(op, `scaleFactor must be finite and > 0, got [${sh},${sw}]`);
    }
  }
  // ATen compute_output_size: int64(input_size * scale) in double; python's recompute path floors.
  const outH = Math.floor(inH * sh);
  const outW = Math.floor(inW * sw);
  if (outH <= 0 || outW <= 0) {
    throw new ValueError(op, `output size [${outH},${outW}] from input [${inH},${inW}] x scaleFactor [${sh},${sw}] must be > 0`);
  }
  return opts.recomputeScaleFactor ? { outH, outW } : { outH, outW, scaleH: sh, scaleW: sw };
}

/**
 * torch.nn.functional.interpolate(x, size | scale_factor, mode, align_corners, antialias,
 * recompute_scale_factor) for 4-D input, as torch 1.13 CPU.
 * @param x (B, C, H, W)
 * @returns (B, C, H', W')
 */
export function interpolate(x: Tensor<'f32'>, opts: InterpolateOptions): Tensor<'f32'> {
  const op = 'interpolate';
  checkImage(op, x);
  if (opts.mode !== 'bilinear' && opts.mode !== 'bicubic') {
    throw new ValueError(op, `mode must be 'bilinear' or 'bicubic', got ${String(opts.mode)}`);
  }
  const [B, C, H, W] = x.shape;
  const g = interpolateGeometry(op, H, W, opts);
  const ac = opts.alignCorners ?? false;
  const aa = opts.antialias ?? false;
  const th = axisTaps(H, g.outH, opts.mode, ac, aa, g.scaleH);
  const tw = axisTaps(W, g.outW, opts.mode, ac, aa, g.scaleW);
  const out = resampleSeparable(x.f32, B * C, th, tw);
  return new Tensor('f32', [B, C, g.outH, g.outW], out);
}

export interface ResizeImageOptions {
  /** Default 'bilinear'. */
  mode?: InterpMode;
  /** Default true (torchvision >= 0.17 default for tensors; DINO-WM ran torchvision 0.18). */
  antialias?: boolean;
  /** torchvision's max_size for the longer edge when `size` is one number. */
  maxSize?: number;
}

/**
 * torchvision.transforms.functional.resize on a float tensor: `size` as one number resizes the
 * shorter edge to it keeping the aspect ratio (longer = int(size * long / short)); a pair is
 * (H, W). Equal sizes return the input unchanged (same tensor). align_corners = false.
 * @param x (B, C, H, W) or (C, H, W)
 */
export function resizeImage(
  x: Tensor<'f32'>,
  size: number | readonly [number] | readonly [number, number],
  opts: ResizeImageOptions = {},
): Tensor<'f32'> {
  const op = 'resizeImage';
  if (x.dtype !== 'f32') throw new DTypeError(op, `x must be f32, got ${x.dtype} ${fmtShape(x.shape)}`);
  if (x.ndim !== 3 && x.ndim !== 4) throw new ShapeError(op, `x must be (B, C, H, W) or (C, H, W), got ${fmtShape(x.shape)}`);
  const H = x.shape[x.ndim - 2];
  const W = x.shape[x.ndim - 1];
  const sz: readonly number[] = typeof size === 'number' ? [size] : size;
  for (const s of sz) {
    if (!Number.isInteger(s) || s <= 0) throw new ValueError(op, `size must be positive integers, got [${sz.join(',')}]`);
  }
  let outH: number;
  let outW: number;
  if (sz.length === 1) {
    const [short, long] = W <= H ? [W, H] : [H, W];
    let newShort = sz[0];
    let newLong = Math.trunc((newShort * long) / short);
    if (opts.maxSize !== undefined) {
      if (!Number.isInteger(opts.maxSize) || opts.maxSize <= newShort) {
        throw new ValueError(op, `maxSize ${opts.maxSize} must be an integer > the shorter-edge size ${newShort}`);
      }
      if (newLong > opts.maxSize) {
        newShort = Math.trunc((opts.maxSize * newShort) / newLong);
        newLong = opts.maxSize;
      }
    }
    [outW, outH] = W <= H ? [newShort, newLong] : [newLong, newShort];
  } else if (sz.length === 2) {
    if (opts.maxSize !== undefined) throw new ValueError(op, 'maxSize needs a single shorter-edge size');
    [outH, outW] = [sz[0], sz[1]];
  } else {
    throw new ValueError(op, `size must have 1 or 2 entries, got [${sz.join(',')}]`);
  }
  if (outH <= 0 || outW <= 0) throw new ValueError(op, `output size [${outH},${outW}] from ${fmtShape(x.shape)} must be > 0`);
  if (outH === H && outW === W) return x;
  const x4 = x.ndim === 4 ? x : x.reshape([1, ...x.shape]);
  const y = interpolate(x4, {
    mode: opts.mode ?? 'bilinear',
    size: [outH, outW],
    alignCorners: false,
    antialias: opts.antialias ?? true,
  });
  return x.ndim === 4 ? y : y.reshape(y.shape.slice(1));
}

export interface PosEmbedOptions {
  /**
   * DINOv2 interpolate_offset (default 0.1): scale_factor = ((targetH + offset)/M, (targetW + offset)/M),
   * the "historical kludge" that makes torch sample the M-grid with step M/(target + offset).
   * 0 selects the newer size form: interpolate(size = (targetH, targetW)).
   */
  offset?: number;
  /** DINOv2 interpolate_antialias (default false, as the hub ViT-S/14). */
  antialias?: boolean;
  /** Tokens before the grid that are kept as they are (1 for DINOv2's CLS). Default 0. */
  numPrefixTokens?: number;
}

/**
 * DINOv2 `interpolate_pos_encoding`: the learned (M x M) grid of position embeddings resized
 * bicubic (A = -0.75, align_corners false) to (targetH, targetW), prefix tokens kept.
 * When the grid already is targetH x targetW (square) the input is returned unchanged, as DINOv2.
 * @param pos (1, P + M*M, D) with P = numPrefixTokens
 * @returns (1, P + targetH*targetW, D), grid tokens row-major (index = row * targetW + col)
 */
export function interpolatePosEmbed(
  pos: Tensor<'f32'>,
  targetH: number,
  targetW: number,
  opts: PosEmbedOptions = {},
): Tensor<'f32'> {
  const op = 'interpolatePosEmbed';
  if (pos.dtype !== 'f32') throw new DTypeError(op, `pos must be f32, got ${pos.dtype} ${fmtShape(pos.shape)}`);
  const P = opts.numPrefixTokens ?? 0;
  const offset = opts.offset ?? 0.1;
  if (!Number.isInteger(P) || P < 0) throw new ValueError(op, `numPrefixTokens must be an integer >= 0, got ${P}`);
  if (!Number.isFinite(offset) || offset < 0) throw new ValueError(op, `offset must be finite and >= 0, got ${offset}`);
  if (pos.ndim !== 3 || pos.shape[0] !== 1 || pos.shape[1] <= P) {
    throw new ShapeError(op, `pos must be (1, ${P} + M*M, D), got ${fmtShape(pos.shape)}`);
  }
  for (const t of [targetH, targetW]) {
    if (!Number.isInteger(t) || t <= 0) throw new ValueError(op, `target grid must be positive integers, got ${targetH}x${targetW}`);
  }
  const N = pos.shape[1] - P;
  const D = pos.shape[2];
  const M = Math.round(Math.sqrt(N));
  if (M * M !== N) throw new ShapeError(op, `pos ${fmtShape(pos.shape)} minus ${P} prefix tokens has ${N} tokens, not a square grid`);
  if (targetH * targetW === N && targetH === targetW) return pos;
  const src = pos.f32;
  // (1, M, M, D) -> (D, M, M)
  const planes = new Float32Array(D * N);
  for (let t = 0; t < N; t++) for (let d = 0; d < D; d++) planes[d * N + t] = src[(P + t) * D + d];
  const g = offset > 0 ? { scaleFactor: [(targetH + offset) / M, (targetW + offset) / M] as const } : { size: [targetH, targetW] as const };
  const y = interpolate(new Tensor('f32', [1, D, M, M], planes), { mode: 'bicubic', antialias: opts.antialias ?? false, ...g });
  const [, , oh, ow] = y.shape;
  if (oh !== targetH || ow !== targetW) {
    throw new ValueError(op, `offset ${offset} on a ${M}x${M} grid gives ${oh}x${ow}, not the target ${targetH}x${targetW}`);
  }
  const T = oh * ow;
  const out = new Float32Array((P + T) * D);
  out.set(src.subarray(0, P * D));
  const yd = y.f32;
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) out[(P + t) * D + d] = yd[d * T + t];
  return new Tensor('f32', [1, P + T, D], out);
}
