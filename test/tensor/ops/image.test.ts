/**
 * DINO-WM image preprocessing: toFloatImage (u8 HWC -> [-1, 1] f32 CHW) against torch's
 * `/ 255` + Normalize(0.5, 0.5) (golden, bit for bit), and dinoWmEncoderResize (224 -> 196,
 * bilinear, antialias) against torchvision's Resize(196) on the same input.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError } from '../../../src/tensor/errors.js';
import { DINO_WM_ENCODER_SIZE, dinoWmEncoderResize, toFloatImage } from '../../../src/tensor/ops/image.js';
import { axisTaps } from '../../../src/tensor/ops/resize.js';
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

const U = 2 ** -24;

describe('toFloatImage', () => {
  for (const c of loadCases('image')) {
    it(`${c.name} (bit for bit vs torch)`, () => {
      const y = toFloatImage(tensorOf(c.x));
      const ref = f32Of(c.y);
      expect(y.shape).toEqual(ref.shape);
      expect(Array.from(y.f32)).toEqual(Array.from(ref.f32));
    });
  }

  it('maps 0 -> -1, 255 -> 1, is monotone, and moves HWC to CHW (unbatched too)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1 << 30 }), (h, w, c, seed) => {
        const u = new Uint8Array(h * w * c).map((_, i) => (seed + i * 97) % 256);
        const x = toFloatImage(new Tensor('u8', [h, w, c], u));
        expect(x.shape).toEqual([c, h, w]);
        for (let y = 0; y < h; y++)
          for (let xx = 0; xx < w; xx++)
            for (let k = 0; k < c; k++) {
              const v = u[(y * w + xx) * c + k];
              // torch: (v/255 - 0.5)/0.5 with float32 roundings; within 2 ulps of 2v/255 - 1.
              expect(Math.abs(x.f32[(k * h + y) * w + xx] - ((2 * v) / 255 - 1))).toBeLessThanOrEqual(2 * U);
            }
      }),
      { numRuns: 50 },
    );
    const ends = toFloatImage(new Tensor('u8', [1, 1, 2], Uint8Array.from([0, 255])));
    expect(Array.from(ends.f32)).toEqual([-1, 1]);
  });

  it('rejects non-u8 and wrong ranks, naming the op and shape', () => {
    expect(() => toFloatImage(new Tensor('f32', [2, 2, 3]))).toThrow(DTypeError);
    expect(() => toFloatImage(new Tensor('u8', [2, 3]))).toThrow(/toFloatImage.*\[2,3\]/);
  });
});

describe('dinoWmEncoderResize', () => {
  const c = loadCases('resize').find((k) => k.name === 'torchvision Resize(196) antialias=True on 224x224');
  it('equals torchvision Resize(196) on a 224x224 frame within the resize bound', () => {
    expect(c).toBeDefined();
    const [h, w, ch] = c!.xGen.u8Pattern as number[];
    const x = toFloatImage(u8Pattern(h, w, ch));
    const y = dinoWmEncoderResize(x);
    expect(y.shape).toEqual([1, 3, DINO_WM_ENCODER_SIZE, DINO_WM_ENCODER_SIZE]);
    const rows: number[] = c!.rows;
    const ref = f32Of(c!.yRows);
    // Same budget as resize.test.ts: (2 (nh + nw) + 8) u sum|wh ww x|, and |x| <= 1 here, so
    // sum|wh ww x| <= sum|wh| sum|ww| (antialias weights are positive and sum to 1).
    const t = axisTaps(224, 196, 'bilinear', false, true);
    const S = 196;
    let worst = 0;
    for (let p = 0; p < 3; p++)
      rows.forEach((r, i) => {
        for (let col = 0; col < S; col++) {
          const got = y.f32[(p * S + r) * S + col];
          const want = ref.f32[(p * rows.length + i) * S + col];
          let sh = 0;
          let sw = 0;
          for (let j = 0; j < t.count[r]; j++) sh += Math.abs(t.weight[r * t.taps + j]);
          for (let j = 0; j < t.count[col]; j++) sw += Math.abs(t.weight[col * t.taps + j]);
          const tol = (2 * (t.count[r] + t.count[col]) + 8) * U * sh * sw;
          worst = Math.max(worst, Math.abs(got - want) / tol);
        }
      });
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('rejects non-4-D and non-f32 input', () => {
    expect(() => dinoWmEncoderResize(new Tensor('f32', [3, 224, 224]))).toThrow(ShapeError);
    expect(() => dinoWmEncoderResize(new Tensor('u8', [1, 3, 224, 224]) as never)).toThrow(DTypeError);
  });
});
