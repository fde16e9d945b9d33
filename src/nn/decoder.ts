/**
 * The visualisation decoder: patch latents -> image (reference/quantwm-dinowm-spec.md B.6,
 * reduced). DINO-WM's VQVAE decoder (quantize=False) is Conv3x3 -> 4 ResBlocks -> ReLU -> two
 * ConvTranspose2d(k4, s2, p1) per x4 stage; this one keeps the structure at compact size:
 *
 *   z (B, Dv, g, g)
 *   conv_in    Conv2d(Dv -> C, 3x3, pad 1)
 *   res.i      x + Conv1x1(Cr -> C)(ReLU(Conv3x3(C -> Cr)(ReLU(x))))      i < DECODER_RES_BLOCKS, Cr = max(1, C/2)
 *   ReLU
 *   up.i       ConvTranspose2d(c_i -> c_{i+1}, k4, s2, p1), ReLU             i < stages (each doubles the side)
 *   conv_out   Conv2d(c_stages -> 3, 1x1)        a per-pixel "to RGB" readout (a 3x3 here costs 9x at full resolution)
 *   -> (B, 3, S, S), S = g 2^stages, in DINO-WM's [-1, 1] pixel space (no squashing, as DINO-WM;
 *      `imageToU8` clamps when converting to bytes)
 *
 * with c_0 = C and c_{i+1} = max(min(C, 16), floor(C / 2^{i+1})): channels halve per stage down
 * to 16, so the full-resolution layers stay cheap. Canonical parameter names (docs/formats.md):
 *   decoder.conv_in.{weight (C, Dv, 3, 3), bias (C)}
 *   decoder.res.{i}.conv1.{weight (Cr, C, 3, 3), bias (Cr)}
 *   decoder.res.{i}.conv2.{weight (C, Cr, 1, 1), bias (C)}
 *   decoder.up.{i}.{weight (c_i, c_{i+1}, 4, 4), bias (c_{i+1})}       torch ConvTranspose2d layout
 *   decoder.conv_out.{weight (3, c_stages, 1, 1), bias (3)}
 * These differ from DINO-WM's VQVAE names (decoder.upsample_b.*, decoder.dec.*), which a
 * converted torch checkpoint keeps verbatim; a model builds this decoder only when its config
 * has `decoder` and `decoder.conv_in.weight` exists.
 * The decoder is trained on detached latents (src/train/decoder.ts) and never feeds the planner.
 */
import { ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import type { Rng } from '../tensor/rng.js';
import { Tensor } from '../tensor/tensor.js';
import type { DecoderConfig } from './config.js';
import type { Fns } from './fn.js';
import { take, type ParamSpec, type WeightMap } from './weights.js';

/** Residual blocks after conv_in ("a couple"; DINO-WM has 4 at 384 channels). */
export const DECODER_RES_BLOCKS = 2;

/** Channel widths: hidden C, residual Cr, and c_0..c_stages through the upsampling stages. */
export function decoderChannels(c: DecoderConfig): { hidden: number; res: number; stages: number[] } {
  checkDecoderConfig(c);
  const C = c.channels;
  const stages = [C];
  for (let i = 0; i < c.stages; i++) stages.push(Math.max(Math.min(C, 16), Math.floor(C / 2 ** (i + 1))));
  return { hidden: C, res: Math.max(1, Math.floor(C / 2)), stages };
}

/** Side of the decoded image for a g x g latent grid: g 2^stages. */
export function decoderOutputSize(c: DecoderConfig, grid: number): number {
  return grid * 2 ** c.stages;
}

export function checkDecoderConfig(c: DecoderConfig): void {
  if (!Number.isInteger(c.channels) || c.channels < 1 || c.channels > 4096) throw new ValueError('decoder config', `channels must be an integer in [1, 4096], got ${c.channels}`);
  if (!Number.isInteger(c.stages) || c.stages < 0 || c.stages > 8) throw new ValueError('decoder config', `stages must be an integer in [0, 8], got ${c.stages}`);
}

/**
 * Every decoder parameter with its shape, in a fixed order ('linear' weights, 'zeros' biases as
 * placeholders for ParamSpec users; `initDecoderWeights` uses torch's Conv defaults instead).
 * @param latentDim Dv, the encoder's token width
 */
export function decoderSpec(c: DecoderConfig, latentDim: number, p = 'decoder'): ParamSpec {
  const ch = decoderChannels(c);
  const C = ch.hidden;
  const conv = (n: string, o: number, i: number, k: number): ParamSpec => [
    [`${p}.${n}.weight`, [o, i, k, k], 'linear'],
    [`${p}.${n}.bias`, [o], 'zeros'],
  ];
  const spec: ParamSpec = [...conv('conv_in', C, latentDim, 3)];
  for (let i = 0; i < DECODER_RES_BLOCKS; i++) spec.push(...conv(`res.${i}.conv1`, ch.res, C, 3), ...conv(`res.${i}.conv2`, C, ch.res, 1));
  for (let i = 0; i < c.stages; i++) {
    spec.push([`${p}.up.${i}.weight`, [ch.stages[i], ch.stages[i + 1], 4, 4], 'linear'], [`${p}.up.${i}.bias`, [ch.stages[i + 1]], 'zeros']);
  }
  spec.push(...conv('conv_out', 3, ch.stages[c.stages], 1));
  return spec;
}

/**
 * Fresh decoder weights as torch initialises Conv2d / ConvTranspose2d (kaiming_uniform with
 * a = sqrt(5), and the bias rule): every weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * fan_in = weight.shape[1] * kh * kw for both layer kinds (torch's _calculate_fan_in_and_fan_out).
 * Draws in spec order from `rng`.
 */
export function initDecoderWeights(c: DecoderConfig, latentDim: number, rng: Rng, p = 'decoder'): WeightMap {
  const spec = decoderSpec(c, latentDim, p);
  const w: WeightMap = new Map();
  for (let k = 0; k < spec.length; k += 2) {
    const [wn, ws] = spec[k];
    const [bn, bs] = spec[k + 1];
    const bound = 1 / Math.sqrt(ws[1] * ws[2] * ws[3]);
    const draw = (shape: number[]): Tensor<'f32'> => {
      const t = new Tensor('f32', shape);
      for (let i = 0; i < t.size; i++) t.f32[i] = (2 * rng.uniform() - 1) * bound;
      return t;
    };
    w.set(wn, draw(ws));
    w.set(bn, draw(bs));
  }
  return w;
}

interface Conv {
  w: Tensor<'f32'>;
  b: Tensor<'f32'>;
}

/** The decoder of one model; holds its weight tensors (an optimizer updates them in place). */
export class Decoder {
  readonly convIn: Conv;
  readonly res: { conv1: Conv; conv2: Conv }[] = [];
  readonly up: Conv[] = [];
  readonly convOut: Conv;
  /** decoded image side, g 2^stages */
  readonly outputSize: number;

  /**
   * @param latentDim Dv  @param grid g, patches per side  @param w weights under `${p}.*`
   */
  constructor(
    readonly c: DecoderConfig,
    readonly latentDim: number,
    readonly grid: number,
    w: WeightMap,
    readonly p = 'decoder',
  ) {
    const spec = decoderSpec(c, latentDim, p);
    const t = (k: number): Tensor<'f32'> => take(w, spec[k][0], spec[k][1]);
    let k = 0;
    const conv = (): Conv => ({ w: t(k++), b: t(k++) });
    this.convIn = conv();
    for (let i = 0; i < DECODER_RES_BLOCKS; i++) this.res.push({ conv1: conv(), conv2: conv() });
    for (let i = 0; i < c.stages; i++) this.up.push(conv());
    this.convOut = conv();
    this.outputSize = decoderOutputSize(c, grid);
  }

  /** Weight tensors in spec order (what a trainer registers). */
  tensors(): Tensor<'f32'>[] {
    const all = [this.convIn, ...this.res.flatMap((r) => [r.conv1, r.conv2]), ...this.up, this.convOut];
    return all.flatMap((cv) => [cv.w, cv.b]);
  }

  /**
   * @param z (B, Dv, g, g) latent grid
   * @returns (B, 3, S, S) image in [-1, 1] space (unclamped), S = g 2^stages
   */
  forward<T>(F: Fns<T>, z: T): T {
    const s = F.shape(z);
    const g = this.grid;
    if (s.length !== 4 || s[1] !== this.latentDim || s[2] !== g || s[3] !== g) {
      throw new ShapeError('Decoder', `latent grid must be (B, ${this.latentDim}, ${g}, ${g}), got ${fmtShape(s)}`);
    }
    const conv = (x: T, cv: Conv, pad: number): T => F.conv2d(x, F.param(cv.w), F.param(cv.b), { padding: pad });
    let h = conv(z, this.convIn, 1);
    for (const r of this.res) h = F.add(h, conv(F.relu(conv(F.relu(h), r.conv1, 1)), r.conv2, 0));
    h = F.relu(h);
    for (const u of this.up) h = F.relu(F.convTranspose2d(h, F.param(u.w), F.param(u.b), { stride: 2, padding: 1 }));
    return conv(h, this.convOut, 0);
  }

  /**
   * Patch tokens to images: (B, P, Dv) with patches row-major (index = row g + col, as the
   * encoder's im2patch) -> grid (B, Dv, g, g) -> forward.
   * @param tokens (B, P, Dv)
   * @returns (B, 3, S, S)
   */
  forwardTokens<T>(F: Fns<T>, tokens: T): T {
    const s = F.shape(tokens);
    const g = this.grid;
    if (s.length !== 3 || s[1] !== g * g || s[2] !== this.latentDim) {
      throw new ShapeError('Decoder', `tokens must be (B, ${g * g}, ${this.latentDim}), got ${fmtShape(s)}`);
    }
    return this.forward(F, F.permute(F.reshape(tokens, [s[0], g, g, this.latentDim]), [0, 3, 1, 2]));
  }
}

/**
 * [-1, 1] CHW float images to HWC bytes, the inverse of toFloatImage: v = (x + 1) 127.5 in
 * float64, rounded half to even, clamped to [0, 255].
 * @param x (B, 3, S, S) f32
 * @returns (B, S, S, 3) u8
 */
export function imageToU8(x: Tensor<'f32'>): Tensor<'u8'> {
  if (x.dtype !== 'f32' || x.ndim !== 4 || x.shape[1] !== 3) throw new ShapeError('imageToU8', `x must be f32 (B, 3, H, W), got ${x.dtype} ${fmtShape(x.shape)}`);
  const [B, C, H, W] = x.shape;
  const HW = H * W;
  const src = x.f32;
  const out = new Uint8Array(x.size);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < HW; p++) {
        const i = (b * C + c) * HW + p;
        const v = (src[i] + 1) * 127.5;
        if (Number.isNaN(v)) throw new ValueError('imageToU8', `NaN at image ${b}, channel ${c}, pixel ${p}`);
        let r = Math.round(v);
        if (r - v === 0.5 && r % 2 !== 0) r -= 1; // half to even
        out[(b * HW + p) * C + c] = r < 0 ? 0 : r > 255 ? 255 : r;
      }
    }
  }
  return new Tensor('u8', [B, H, W, C], out);
}
