/**
 * Reference semantics for patchify (im2patch) and its inverse. float32 storage; values are
 * copied bit for bit. Patch vectors use the channel-major order (c, ky, kx) of a torch Conv2d
 * weight (D, C, p, p), so a stride = kernel convolution is
 *   linear(im2patch(x, p), W.reshape(D, C*p*p), bias)
 * and patches are numbered row-major (index = row * W/p + col), as DINOv2's PatchEmbed
 * flatten(2).transpose(1, 2). Never optimized: speed lives in ../wasm.
 */
import { ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { checkF32, checkInt } from './util.js';

/**
 * @param x (B, C, H, W), H and W divisible by p
 * @param p patch size
 * @returns (B, (H/p)(W/p), C p p); out[b, i*(W/p)+j, (c*p+ky)*p+kx] = x[b, c, i*p+ky, j*p+kx]
 */
export function im2patch(x: Tensor<'f32'>, p: number): Tensor<'f32'> {
  const op = 'im2patch';
  checkF32(op, x);
  checkInt(op, 'patch size', p, 1);
  if (x.ndim !== 4) throw new ShapeError(op, `input must be (B, C, H, W), got ${fmtShape(x.shape)}`);
  const [B, C, H, W] = x.shape;
  if (H % p !== 0 || W % p !== 0) throw new ShapeError(op, `H, W of ${fmtShape(x.shape)} not divisible by patch ${p}`);
  const out = new Float32Array(x.size);
  patchCopy(x.data as Float32Array, out, B, C, H, W, p, true);
  return new Tensor('f32', [B, (H / p) * (W / p), C * p * p], out);
}

/**
 * Inverse of im2patch.
 * @param patches (B, (H/p)(W/p), C p p)
 * @returns (B, C, H, W)
 */
export function patch2im(patches: Tensor<'f32'>, p: number, H: number, W: number): Tensor<'f32'> {
  const op = 'patch2im';
  checkF32(op, patches);
  checkInt(op, 'patch size', p, 1);
  checkInt(op, 'H', H);
  checkInt(op, 'W', W);
  if (patches.ndim !== 3 || H % p !== 0 || W % p !== 0) {
    throw new ShapeError(op, `patches ${fmtShape(patches.shape)} with p=${p}, H=${H}, W=${W}: need (B, (H/p)(W/p), C p p) and p | H, W`);
  }
  const [B, N, F] = patches.shape;
  if (N !== (H / p) * (W / p) || F % (p * p) !== 0) {
    throw new ShapeError(op, `patches ${fmtShape(patches.shape)} do not match H=${H}, W=${W}, p=${p}`);
  }
  const C = F / (p * p);
  const out = new Float32Array(patches.size);
  patchCopy(patches.data as Float32Array, out, B, C, H, W, p, false);
  return new Tensor('f32', [B, C, H, W], out);
}

/** image -> patches when toPatches, else patches -> image. */
function patchCopy(src: Float32Array, dst: Float32Array, B: number, C: number, H: number, W: number, p: number, toPatches: boolean): void {
  const nw = W / p;
  const N = (H / p) * nw;
  const F = C * p * p;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const img = ((b * C + c) * H + y) * W + x;
          const n = Math.floor(y / p) * nw + Math.floor(x / p);
          const f = (c * p + (y % p)) * p + (x % p);
          const pat = (b * N + n) * F + f;
          if (toPatches) dst[pat] = src[img];
          else dst[img] = src[pat];
        }
}
