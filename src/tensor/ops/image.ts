/**
 * Reference semantics for DINO-WM's observation preprocessing (spec B.1): uint8 HWC frames to
 * [-1, 1] float32 CHW, and the encoder's Resize(196) (bilinear, antialias). float32 via
 * Math.fround in torch's operation order. Never optimized: speed lives in ../wasm.
 */
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { resizeImage } from './resize.js';

const fr = Math.fround;

/** DINO-WM's encoder input side: 224 // 16 = 14 patches of 14 px, 14 * 14 = 196. */
export const DINO_WM_ENCODER_SIZE = 196;

/**
 * uint8 frames to DINO-WM's [-1, 1] float: `rearrange(b h w c -> b c h w) / 255`, then
 * `Normalize(mean=0.5, std=0.5)` i.e. (v - 0.5) / 0.5, each step rounded to float32 as torch.
 * Not ImageNet normalization.
 * @param u8 (B, H, W, C) or (H, W, C) uint8
 * @returns (B, C, H, W) or (C, H, W) float32
 */
export function toFloatImage(u8: Tensor): Tensor<'f32'> {
  const op = 'toFloatImage';
  if (u8.dtype !== 'u8') throw new DTypeError(op, `expected u8 (B, H, W, C) frames, got ${u8.dtype} ${fmtShape(u8.shape)}`);
  if (u8.ndim !== 3 && u8.ndim !== 4) throw new ShapeError(op, `expected (B, H, W, C) or (H, W, C), got ${fmtShape(u8.shape)}`);
  const batched = u8.ndim === 4;
  const [B, H, W, C] = batched ? u8.shape : [1, ...u8.shape];
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = fr(fr(fr(v / 255) - 0.5) / 0.5);
  const src = u8.data as Uint8Array;
  const out = new Float32Array(B * C * H * W);
  const HW = H * W;
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < HW; p++) {
      const s = (b * HW + p) * C;
      for (let c = 0; c < C; c++) out[(b * C + c) * HW + p] = lut[src[s + c]];
    }
  }
  return new Tensor('f32', batched ? [B, C, H, W] : [C, H, W], out);
}

/**
 * DINO-WM `encoder_transform = transforms.Resize(196)` on the [-1, 1] tensor: shorter edge to
 * 196, bilinear, antialias = true (torchvision 0.18), align_corners = false.
 * @param x (B, 3, H, W), usually 224 x 224
 * @returns (B, 3, 196, 196) for square input
 */
export function dinoWmEncoderResize(x: Tensor<'f32'>): Tensor<'f32'> {
  if (x.dtype !== 'f32') throw new DTypeError('dinoWmEncoderResize', `x must be f32, got ${x.dtype} ${fmtShape(x.shape)}`);
  if (x.ndim !== 4) throw new ShapeError('dinoWmEncoderResize', `x must be (B, C, H, W), got ${fmtShape(x.shape)}`);
  return resizeImage(x, DINO_WM_ENCODER_SIZE, { mode: 'bilinear', antialias: true });
}
