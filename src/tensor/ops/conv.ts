/**
 * Reference semantics for 2-D convolution and transposed convolution on NCHW float32 tensors,
 * as torch.nn.functional.conv2d / conv_transpose2d (stride, padding incl. 'same'/'valid',
 * dilation, groups, output_padding), and their gradients as plain functions.
 *
 * Every product goes through im2col / col2im and `backend().gemmF32` (float32 accumulation in the
 * backend's order; the reference GEMM adds k ascending). The bias is added last, one float32 add
 * per output. col2im scatter-adds in float32 in a fixed order (channel, ky, kx, output row, col).
 * Torch sums in another order (oneDNN / its own im2col), so results agree within the float32
 * dot-product bound gamma_K * sum |w x|, not bit for bit. Never optimized: speed lives in ../wasm.
 */
import { backend } from '../backend.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { checkF32 } from './util.js';

const fr = Math.fround;

export type ConvPair = number | readonly [number, number];

export interface Conv2dOptions {
  /** Default 1. */
  stride?: ConvPair;
  /** Symmetric zero padding per side, or torch's 'same' (stride 1 only) / 'valid'. Default 0. */
  padding?: ConvPair | 'same' | 'valid';
  /** Default 1. */
  dilation?: ConvPair;
  /** Default 1. C and O must be divisible by it. */
  groups?: number;
}

export interface ConvTranspose2dOptions {
  /** Default 1. */
  stride?: ConvPair;
  /** Removed from each side of the full output. Default 0. */
  padding?: ConvPair;
  /** Extra rows/cols added at the bottom/right; must be < stride or < dilation. Default 0. */
  outputPadding?: ConvPair;
  /** Default 1. */
  dilation?: ConvPair;
  /** Default 1. */
  groups?: number;
}

export interface ConvGrads {
  /** Gradient w.r.t. the input x, shape of x. */
  gx: Tensor<'f32'>;
  /** Gradient w.r.t. the weight, shape of w. */
  gw: Tensor<'f32'>;
  /** Gradient w.r.t. the bias, (O) for conv2d, (O) = (groups * w.shape[1]) for convTranspose2d. */
  gb: Tensor<'f32'>;
}

/** Resolved geometry of one convolution: x (B, C, H, W) -> y (B, O, Ho, Wo) through taps (kh, kw). */
interface Geom {
  B: number;
  C: number;
  H: number;
  W: number;
  O: number;
  G: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  /** Padding before row 0 / col 0 (the far side follows from Ho, Wo). */
  ph: number;
  pw: number;
  Ho: number;
  Wo: number;
}

function pair(op: string, what: string, v: ConvPair | undefined, dflt: number, min: number): [number, number] {
  const p: readonly number[] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((e) => Number.isInteger(e) && e >= min)) {
    throw new ValueError(op, `${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0], p[1]];
}

function checkGroups(op: string, g: number | undefined): number {
  const G = g ?? 1;
  if (!Number.isInteger(G) || G < 1) throw new ValueError(op, `groups must be an integer >= 1, got ${g}`);
  return G;
}

function checkBias(op: string, b: Tensor<'f32'> | null | undefined, O: number, wShape: readonly number[]): void {
  if (b === undefined || b === null) return;
  checkF32(op, b);
  if (b.ndim !== 1 || b.shape[0] !== O) {
    throw new ShapeError(op, `bias must be (${O}) for weight ${fmtShape(wShape)}, got ${fmtShape(b.shape)}`);
  }
}

/** Geometry of conv2d(x, w) after checking every shape and option. */
function convGeom(op: string, x: Tensor<'f32'>, w: Tensor<'f32'>, opts: Conv2dOptions): Geom {
  checkF32(op, x, w);
  if (x.ndim !== 4) throw new ShapeError(op, `x must be (B, C, H, W), got ${fmtShape(x.shape)}`);
  if (w.ndim !== 4) throw new ShapeError(op, `weight must be (O, C/groups, kh, kw), got ${fmtShape(w.shape)}`);
  const [B, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const G = checkGroups(op, opts.groups);
  if (C % G !== 0 || O % G !== 0 || Cg !== C / G || kh < 1 || kw < 1) {
    throw new ShapeError(op, `x ${fmtShape(x.shape)} and weight ${fmtShape(w.shape)} do not fit groups=${G} (need C/groups = weight dim 1, O divisible by groups)`);
  }
  const [sh, sw] = pair(op, 'stride', opts.stride, 1, 1);
  const [dh, dw] = pair(op, 'dilation', opts.dilation, 1, 1);
  let ph: number;
  let pw: number;
  let Ho: number;
  let Wo: number;
  const spanH = dh * (kh - 1) + 1;
  const spanW = dw * (kw - 1) + 1;
  if (opts.padding === 'same') {
    if (sh !== 1 || sw !== 1) throw new ValueError(op, `padding='same' needs stride 1, got stride [${sh},${sw}]`);
    // torch: total = d (k - 1); left = total // 2, the odd one out goes to the right/bottom.
    ph = Math.floor((spanH - 1) / 2);
    pw = Math.floor((spanW - 1) / 2);
    Ho = H;
    Wo = W;
  } else {
    [ph, pw] = opts.padding === 'valid' ? [0, 0] : pair(op, 'padding', opts.padding, 0, 0);
    Ho = Math.floor((H + 2 * ph - spanH) / sh) + 1;
    Wo = Math.floor((W + 2 * pw - spanW) / sw) + 1;
  }
  if (H < 1 || W < 1 || Ho < 1 || Wo < 1) {
    throw new ShapeError(op, `x ${fmtShape(x.shape)} with padding [${ph},${pw}] is smaller than the dilated kernel ${spanH}x${spanW} of weight ${fmtShape(w.shape)}`);
  }
  return { B, C, H, W, O, G, kh, kw, sh, sw, dh, dw, ph, pw, Ho, Wo };
}

/**
 * im2col of channels [c0, c0 + Cn) of one image: cols[(c*kh + ky)*kw + kx, oy*Wo + ox] =
 * x[c0 + c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw] (0 outside the image).
 */
function im2col(src: Float32Array, off: number, Cn: number, g: Geom): Float32Array {
  const { H, W, kh, kw, sh, sw, dh, dw, ph, pw, Ho, Wo } = g;
  const cols = new Float32Array(Cn * kh * kw * Ho * Wo);
  let r = 0;
  for (let c = 0; c < Cn; c++) {
    const plane = off + c * H * W;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, r++) {
        const row = r * Ho * Wo;
        for (let oy = 0; oy < Ho; oy++) {
          const iy = oy * sh - ph + ky * dh;
          if (iy < 0 || iy >= H) continue;
          for (let ox = 0; ox < Wo; ox++) {
            const ix = ox * sw - pw + kx * dw;
            if (ix >= 0 && ix < W) cols[row + oy * Wo + ox] = src[plane + iy * W + ix];
          }
        }
      }
    }
  }
  return cols;
}

/** Adjoint of im2col: dst[c0 + c, iy, ix] += cols[(c*kh + ky)*kw + kx, oy*Wo + ox], float32 adds. */
function col2im(cols: Float32Array, dst: Float32Array, off: number, Cn: number, g: Geom): void {
  const { H, W, kh, kw, sh, sw, dh, dw, ph, pw, Ho, Wo } = g;
  let r = 0;
  for (let c = 0; c < Cn; c++) {
    const plane = off + c * H * W;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, r++) {
        const row = r * Ho * Wo;
        for (let oy = 0; oy < Ho; oy++) {
          const iy = oy * sh - ph + ky * dh;
          if (iy < 0 || iy >= H) continue;
          for (let ox = 0; ox < Wo; ox++) {
            const ix = ox * sw - pw + kx * dw;
            if (ix >= 0 && ix < W) dst[plane + iy * W + ix] = fr(dst[plane + iy * W + ix] + cols[row + oy * Wo + ox]);
          }
        }
      }
    }
  }
}

/** Row-major transpose of an (r, c) matrix. */
function transpose(a: Float32Array, off: number, r: number, c: number): Float32Array {
  const t = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[off + i * c + j];
  return t;
}

/** y (B, O, Ho, Wo) = conv(x, w) + b, no checks. */
function convForward(x: Float32Array, w: Float32Array, b: Float32Array | undefined, g: Geom): Float32Array {
  const { B, C, H, W, O, G, kh, kw, Ho, Wo } = g;
  const Cg = C / G;
  const Og = O / G;
  const K = Cg * kh * kw;
  const N = Ho * Wo;
  const y = new Float32Array(B * O * N);
  const gemm = backend().gemmF32;
  const wg = new Float32Array(Og * K);
  const out = new Float32Array(Og * N);
  for (let n = 0; n < B; n++) {
    for (let gi = 0; gi < G; gi++) {
      const cols = im2col(x, (n * C + gi * Cg) * H * W, Cg, g);
      wg.set(w.subarray(gi * Og * K, (gi + 1) * Og * K));
      gemm(Og, N, K, wg, cols, false, out);
      y.set(out, (n * O + gi * Og) * N);
    }
  }
  if (b) {
    for (let n = 0; n < B; n++) {
      for (let o = 0; o < O; o++) {
        const base = (n * O + o) * N;
        for (let i = 0; i < N; i++) y[base + i] = fr(y[base + i] + b[o]);
      }
    }
  }
  return y;
}

/** gx (B, C, H, W) = col2im(w^T gy): the adjoint of convForward in x, no checks. */
function convInputGrad(gy: Float32Array, w: Float32Array, g: Geom): Float32Array {
  const { B, C, H, W, O, G, kh, kw, Ho, Wo } = g;
  const Cg = C / G;
  const Og = O / G;
  const K = Cg * kh * kw;
  const N = Ho * Wo;
  const gx = new Float32Array(B * C * H * W);
  const gemm = backend().gemmF32;
  const cols = new Float32Array(K * N);
  const wT = Array.from({ length: G }, (_, gi) => transpose(w, gi * Og * K, Og, K)); // (K, Og)
  for (let n = 0; n < B; n++) {
    for (let gi = 0; gi < G; gi++) {
      gemm(K, N, Og, wT[gi], gy.subarray((n * O + gi * Og) * N, (n * O + (gi + 1) * Og) * N), false, cols);
      col2im(cols, gx, (n * C + gi * Cg) * H * W, Cg, g);
    }
  }
  return gx;
}

/** gw (O, C/G, kh, kw) = sum_n gy_n cols_n^T, accumulated over the batch in float32, no checks. */
function convWeightGrad(x: Float32Array, gy: Float32Array, g: Geom): Float32Array {
  const { B, C, H, W, O, G, kh, kw, Ho, Wo } = g;
  const Cg = C / G;
  const Og = O / G;
  const K = Cg * kh * kw;
  const N = Ho * Wo;
  const gw = new Float32Array(O * K);
  const gemm = backend().gemmF32;
  const part = new Float32Array(Og * K);
  for (let n = 0; n < B; n++) {
    for (let gi = 0; gi < G; gi++) {
      const cols = im2col(x, (n * C + gi * Cg) * H * W, Cg, g);
      gemm(Og, K, N, gy.subarray((n * O + gi * Og) * N, (n * O + (gi + 1) * Og) * N), cols, true, part);
      const base = gi * Og * K;
      for (let i = 0; i < Og * K; i++) gw[base + i] = fr(gw[base + i] + part[i]);
    }
  }
  return gw;
}

/** gb (O) = sum over batch and positions of gy (B, O, N), float32, batch-major order. */
function biasGrad(gy: Float32Array, B: number, O: number, N: number): Float32Array {
  const gb = new Float32Array(O);
  for (let n = 0; n < B; n++) {
    for (let o = 0; o < O; o++) {
      let s = 0;
      const base = (n * O + o) * N;
      for (let i = 0; i < N; i++) s = fr(s + gy[base + i]);
      gb[o] = fr(gb[o] + s);
    }
  }
  return gb;
}

/**
 * torch.nn.functional.conv2d.
 * @param x (B, C, H, W)
 * @param w (O, C/groups, kh, kw)
 * @param b (O) or null
 * @returns (B, O, Ho, Wo), Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1
 */
export function conv2d(x: Tensor<'f32'>, w: Tensor<'f32'>, b?: Tensor<'f32'> | null, opts: Conv2dOptions = {}): Tensor<'f32'> {
  const op = 'conv2d';
  const g = convGeom(op, x, w, opts);
  checkBias(op, b, g.O, w.shape);
  const y = convForward(x.f32, w.f32, b?.f32, g);
  return new Tensor('f32', [g.B, g.O, g.Ho, g.Wo], y);
}

/**
 * Gradients of conv2d for an upstream gradient gy = dL/dy.
 * @param x (B, C, H, W) the forward input
 * @param w (O, C/groups, kh, kw)
 * @param gy (B, O, Ho, Wo), the shape conv2d(x, w, opts) returns
 */
export function conv2dBackward(x: Tensor<'f32'>, w: Tensor<'f32'>, gy: Tensor<'f32'>, opts: Conv2dOptions = {}): ConvGrads {
  const op = 'conv2dBackward';
  const g = convGeom(op, x, w, opts);
  checkF32(op, gy);
  const want = [g.B, g.O, g.Ho, g.Wo];
  if (gy.ndim !== 4 || gy.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(op, `gradOut must be ${fmtShape(want)} for x ${fmtShape(x.shape)} and weight ${fmtShape(w.shape)}, got ${fmtShape(gy.shape)}`);
  }
  return {
    gx: new Tensor('f32', x.shape, convInputGrad(gy.f32, w.f32, g)),
    gw: new Tensor('f32', w.shape, convWeightGrad(x.f32, gy.f32, g)),
    gb: new Tensor('f32', [g.O], biasGrad(gy.f32, g.B, g.O, g.Ho * g.Wo)),
  };
}

/**
 * The conv2d geometry whose input-gradient is convTranspose2d(x): the transposed conv's output
 * plays the conv input (B, O, Hout, Wout), its input plays the conv output (B, C, H, W).
 */
function convTGeom(op: string, x: Tensor<'f32'>, w: Tensor<'f32'>, opts: ConvTranspose2dOptions): Geom {
  checkF32(op, x, w);
  if (x.ndim !== 4) throw new ShapeError(op, `x must be (B, C, H, W), got ${fmtShape(x.shape)}`);
  if (w.ndim !== 4) throw new ShapeError(op, `weight must be (C, O/groups, kh, kw), got ${fmtShape(w.shape)}`);
  const [B, C, H, W] = x.shape;
  const [Cw, Og, kh, kw] = w.shape;
  const G = checkGroups(op, opts.groups);
  if (Cw !== C || C % G !== 0 || kh < 1 || kw < 1 || Og < 1) {
    throw new ShapeError(op, `x ${fmtShape(x.shape)} and weight ${fmtShape(w.shape)} do not fit groups=${G} (need weight dim 0 = C, C divisible by groups)`);
  }
  const [sh, sw] = pair(op, 'stride', opts.stride, 1, 1);
  const [ph, pw] = pair(op, 'padding', opts.padding, 0, 0);
  const [oph, opw] = pair(op, 'outputPadding', opts.outputPadding, 0, 0);
  const [dh, dw] = pair(op, 'dilation', opts.dilation, 1, 1);
  if ((oph >= sh && oph >= dh) || (opw >= sw && opw >= dw)) {
    throw new ValueError(op, `outputPadding [${oph},${opw}] must be smaller than stride [${sh},${sw}] or dilation [${dh},${dw}]`);
  }
  const Hout = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const Wout = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (H < 1 || W < 1 || Hout < 1 || Wout < 1) {
    throw new ShapeError(op, `x ${fmtShape(x.shape)} with weight ${fmtShape(w.shape)}, stride [${sh},${sw}], padding [${ph},${pw}] gives an empty output ${Hout}x${Wout}`);
  }
  // As a conv: input (B, G*Og, Hout, Wout), output (B, C, H, W), weight (C, Og, kh, kw).
  return { B, C: G * Og, H: Hout, W: Wout, O: C, G, kh, kw, sh, sw, dh, dw, ph, pw, Ho: H, Wo: W };
}

/**
 * torch.nn.functional.conv_transpose2d: the adjoint of conv2d in its input, plus a bias.
 * @param x (B, C, H, W)
 * @param w (C, O/groups, kh, kw)
 * @param b (O) or null
 * @returns (B, O, Hout, Wout), Hout = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1
 */
export function convTranspose2d(
  x: Tensor<'f32'>,
  w: Tensor<'f32'>,
  b?: Tensor<'f32'> | null,
  opts: ConvTranspose2dOptions = {},
): Tensor<'f32'> {
  const op = 'convTranspose2d';
  const g = convTGeom(op, x, w, opts);
  checkBias(op, b, g.C, w.shape);
  const y = convInputGrad(x.f32, w.f32, g);
  if (b) {
    const N = g.H * g.W;
    const bd = b.f32;
    for (let n = 0; n < g.B; n++) {
      for (let o = 0; o < g.C; o++) {
        const base = (n * g.C + o) * N;
        for (let i = 0; i < N; i++) y[base + i] = fr(y[base + i] + bd[o]);
      }
    }
  }
  return new Tensor('f32', [g.B, g.C, g.H, g.W], y);
}

/**
 * Gradients of convTranspose2d for gy = dL/dy: gx = conv2d(gy, w) (same stride, padding,
 * dilation, groups), gw[c, o, ky, kx] = sum x[b, c, i, j] gy[b, o, i sh - ph + ky dh, j sw - pw + kx dw].
 * @param x (B, C, H, W) the forward input
 * @param w (C, O/groups, kh, kw)
 * @param gy (B, O, Hout, Wout), the shape convTranspose2d(x, w, opts) returns
 */
export function convTranspose2dBackward(
  x: Tensor<'f32'>,
  w: Tensor<'f32'>,
  gy: Tensor<'f32'>,
  opts: ConvTranspose2dOptions = {},
): ConvGrads {
  const op = 'convTranspose2dBackward';
  const g = convTGeom(op, x, w, opts);
  checkF32(op, gy);
  const want = [g.B, g.C, g.H, g.W];
  if (gy.ndim !== 4 || gy.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(op, `gradOut must be ${fmtShape(want)} for x ${fmtShape(x.shape)} and weight ${fmtShape(w.shape)}, got ${fmtShape(gy.shape)}`);
  }
  // In conv terms gy is the input and x the output gradient: dL/dx = conv(gy), dL/dw = weight grad.
  return {
    gx: new Tensor('f32', x.shape, convForward(gy.f32, w.f32, undefined, g)),
    gw: new Tensor('f32', w.shape, convWeightGrad(gy.f32, x.f32, g)),
    gb: new Tensor('f32', [g.C], biasGrad(gy.f32, g.B, g.C, g.H * g.W)),
  };
}
