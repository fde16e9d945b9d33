import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/tensor/errors.js';
import { DatasetFormatError } from '../../src/env/errors.js';
import { encodeGif, lzwEncode } from '../../src/env/render/gif.js';
import { decodePng, encodePng } from '../../src/env/render/png.js';
import { RgbImage, fillCapsule, fillCircle, fillConvexPolygon, fillRect } from '../../src/env/render/raster.js';
import { resizeToRgb8, triangleTaps } from '../../src/env/render/resample.js';

const RED = [255, 0, 0] as const;

/** Minimal GIF LZW decoder (test twin of lzwEncode). */
function lzwDecode(data: Uint8Array, minCodeSize: number, n: number): Uint8Array {
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  let size = minCodeSize + 1;
  let dict: number[][] = [];
  const reset = (): void => {
    dict = [];
    for (let i = 0; i < clear; i++) dict.push([i]);
    dict.push([], []);
    size = minCodeSize + 1;
  };
  reset();
  const out: number[] = [];
  let bitPos = 0;
  let prev: number[] | null = null;
  for (;;) {
    let code = 0;
    for (let b = 0; b < size; b++) {
      const byte = data[(bitPos + b) >> 3];
      code |= ((byte >> ((bitPos + b) & 7)) & 1) << b;
    }
    bitPos += size;
    if (code === clear) {
      reset();
      prev = null;
      continue;
    }
    if (code === eoi) break;
    let entry: number[];
    if (code < dict.length) entry = dict[code];
    else if (prev) entry = [...prev, prev[0]];
    else throw new Error('bad LZW stream');
    out.push(...entry);
    if (prev) {
      dict.push([...prev, entry[0]]);
      if (dict.length === 1 << size && size < 12) size++;
    }
    prev = entry;
  }
  expect(out.length).toBe(n);
  return Uint8Array.from(out);
}

describe('raster', () => {
  it('fillRect with integer edges paints exactly the covered pixels; a half-covered pixel blends 8/16', () => {
    const img = new RgbImage(8, 8).fill([0, 0, 0]);
    fillRect(img, 2, 3, 5, 6, RED);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(img.get(x, y)).toEqual(x >= 2 && x < 5 && y >= 3 && y < 6 ? [255, 0, 0] : [0, 0, 0]);
    const half = new RgbImage(2, 1).fill([0, 0, 0]);
    fillRect(half, 0, 0, 1.5, 1, [255, 255, 255]);
    // (0 * 8 + 255 * 8 + 8) >> 4 = 128
    expect(half.get(1, 0)).toEqual([128, 128, 128]);
    expect(half.get(0, 0)).toEqual([255, 255, 255]);
  });

  it('fillCircle: centre pixel full, far pixels untouched, 4-fold symmetric about a pixel corner', () => {
    const img = new RgbImage(20, 20).fill([255, 255, 255]);
    fillCircle(img, 10, 10, 5.3, [0, 0, 255]);
    expect(img.get(9, 9)).toEqual([0, 0, 255]);
    expect(img.get(0, 0)).toEqual([255, 255, 255]);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) {
      const v = img.get(x, y);
      expect(img.get(19 - x, y)).toEqual(v);
      expect(img.get(x, 19 - y)).toEqual(v);
    }
  });

  it('fillConvexPolygon does not depend on winding order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 16, noNaN: true }), fc.double({ min: 0, max: 16, noNaN: true })), { minLength: 3, maxLength: 3 }), (tri) => {
        const a = new RgbImage(16, 16).fill([10, 20, 30]);
        const b = new RgbImage(16, 16).fill([10, 20, 30]);
        fillConvexPolygon(a, tri.flat(), [200, 100, 0]);
        fillConvexPolygon(b, [...tri].reverse().flat(), [200, 100, 0]);
        expect(a.data).toEqual(b.data);
      }),
      { numRuns: 200 },
    );
  });

  it('fillCapsule covers the segment and its round caps', () => {
    const img = new RgbImage(30, 10).fill([0, 0, 0]);
    fillCapsule(img, 5, 5, 25, 5, 2, [9, 9, 9]);
    expect(img.get(15, 4)).toEqual([9, 9, 9]);
    expect(img.get(4, 4)).toEqual([9, 9, 9]); // all 16 samples within 2 of the end point (5, 5)
    const edge = img.get(3, 4)[0]; // the cap's antialiased rim: partly covered
    expect(edge).toBeGreaterThan(0);
    expect(edge).toBeLessThan(9);
    expect(img.get(15, 0)).toEqual([0, 0, 0]);
  });
});

describe('resample (triangle filter, torchvision antialias semantics)', () => {
  it('same size is the identity', () => {
    const src = Float64Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37) % 256);
    expect(Array.from(resizeToRgb8(src, 5, 4, 5, 4))).toEqual(Array.from(src));
  });

  it('2x bilinear upsampling of [0, 255] gives [0, 64, 191, 255] (align_corners=False, clamped edges)', () => {
    const src = Float64Array.of(0, 0, 0, 255, 255, 255);
    const out = resizeToRgb8(src, 1, 2, 1, 4);
    expect([out[0], out[3], out[6], out[9]]).toEqual([0, 64, 191, 255]); // 63.75, 191.25 rounded
  });

  it('taps are normalised and a constant image stays constant at any size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), (a, b) => {
        const t = triangleTaps(a, b);
        for (let i = 0; i < b; i++) {
          let s = 0;
          for (let j = 0; j < t.count[i]; j++) s += t.weights[i * t.maxCount + j];
          expect(Math.abs(s - 1)).toBeLessThan(1e-12);
        }
        const src = new Float64Array(a * 3).fill(77);
        expect(resizeToRgb8(src, 1, a, 1, b).every((v) => v === 77)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('PNG', () => {
  it('round-trips through decodePng and carries the right IHDR', () => {
    const w = 7;
    const h = 5;
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 53) & 255);
    const png = encodePng(rgb, w, h);
    expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    expect(String.fromCharCode(...png.subarray(12, 16))).toBe('IHDR');
    const d = decodePng(png);
    expect([d.width, d.height]).toEqual([w, h]);
    expect(d.rgb).toEqual(rgb);
  });

  it('rejects a flipped byte (CRC) and a wrong-sized buffer', () => {
    const png = encodePng(new Uint8Array(12), 2, 2);
    const bad = png.slice();
    bad[20] ^= 1;
    expect(() => decodePng(bad)).toThrow(DatasetFormatError);
    expect(() => encodePng(new Uint8Array(11), 2, 2)).toThrow(ShapeError);
  });
});

describe('GIF', () => {
  it('LZW round-trips, including past the 4096-code table reset', () => {
    const n = 40000;
    let x = 12345;
    const idx = Uint8Array.from({ length: n }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 16) & 255;
    });
    expect(lzwDecode(lzwEncode(idx, 8), 8, n)).toEqual(idx);
    const runs = Uint8Array.from({ length: n }, (_, i) => Math.floor(i / 300) % 3);
    expect(lzwDecode(lzwEncode(runs, 8), 8, n)).toEqual(runs);
  });

  it('encodes frames with a global palette: header, loop extension, one image per frame', () => {
    const f1 = new Uint8Array(4 * 3 * 3).fill(255);
    const f2 = f1.slice();
    f2.set([255, 0, 0], 0);
    const gif = encodeGif([f1, f2], 4, 3, 7);
    expect(String.fromCharCode(...gif.subarray(0, 6))).toBe('GIF89a');
    expect(gif[6] | (gif[7] << 8)).toBe(4);
    expect(gif[gif.length - 1]).toBe(0x3b);
    // palette entry 0 is the most frequent colour (white), entry 1 red
    expect(Array.from(gif.subarray(13, 19))).toEqual([255, 255, 255, 255, 0, 0]);
    let images = 0;
    for (let i = 13 + 768; i < gif.length; i++) if (gif[i] === 0x2c && gif[i - 1] === 0 && gif[i - 2] === 0) images++;
    expect(images).toBeGreaterThanOrEqual(2);
    expect(() => encodeGif([], 4, 3)).toThrow();
    expect(() => encodeGif([new Uint8Array(5)], 4, 3)).toThrow(ShapeError);
  });
});
