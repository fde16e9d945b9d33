/**
 * Deterministic antialiased rasteriser into HWC RGB uint8 images.
 *
 * Coverage is measured with a fixed 4x4 grid of sample points per pixel at offsets
 * (i + 0.5)/4, i = 0..3 (exact binary fractions), and a shape covering k of the 16 samples is
 * blended as out = (dst (16 - k) + colour k + 8) >> 4 in integer arithmetic. Only + - * / on
 * doubles and integer ops are used, so the same shapes give the same bytes everywhere.
 * Pixel (x, y) covers [x, x+1) x [y, y+1); y grows downwards.
 */

export type RGB = readonly [number, number, number];

export const SAMPLES_PER_AXIS = 4;
const OFFS = [0.125, 0.375, 0.625, 0.875];

/** An RGB image: `data` is (height, width, 3) row-major. */
export class RgbImage {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3);
  }

  fill(c: RGB): this {
    const d = this.data;
    for (let i = 0; i < d.length; i += 3) {
      d[i] = c[0];
      d[i + 1] = c[1];
      d[i + 2] = c[2];
    }
    return this;
  }

  /** The RGB triple at (x, y). */
  get(x: number, y: number): [number, number, number] {
    const o = (y * this.width + x) * 3;
    return [this.data[o], this.data[o + 1], this.data[o + 2]];
  }
}

/**
 * Blends `c` into every pixel of the box [x0, x1) x [y0, y1) (pixel coordinates, clipped)
 * by the fraction of the 16 samples for which `inside(sx, sy)` holds.
 */
export function fillCoverage(
  img: RgbImage,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  inside: (x: number, y: number) => boolean,
  c: RGB,
): void {
  const px0 = Math.max(0, Math.floor(x0));
  const py0 = Math.max(0, Math.floor(y0));
  const px1 = Math.min(img.width, Math.ceil(x1));
  const py1 = Math.min(img.height, Math.ceil(y1));
  const d = img.data;
  for (let py = py0; py < py1; py++) {
    for (let px = px0; px < px1; px++) {
      let k = 0;
      for (let j = 0; j < 4; j++) {
        const sy = py + OFFS[j];
        for (let i = 0; i < 4; i++) if (inside(px + OFFS[i], sy)) k++;
      }
      if (k === 0) continue;
      const o = (py * img.width + px) * 3;
      if (k === 16) {
        d[o] = c[0];
        d[o + 1] = c[1];
        d[o + 2] = c[2];
      } else {
        const u = 16 - k;
        d[o] = (d[o] * u + c[0] * k + 8) >> 4;
        d[o + 1] = (d[o + 1] * u + c[1] * k + 8) >> 4;
        d[o + 2] = (d[o + 2] * u + c[2] * k + 8) >> 4;
      }
    }
  }
}

/** Filled disc of radius r centred at (cx, cy), pixel units. */
export function fillCircle(img: RgbImage, cx: number, cy: number, r: number, c: RGB): void {
  const r2 = r * r;
  fillCoverage(img, cx - r, cy - r, cx + r, cy + r, (x, y) => (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r2, c);
}

/** Filled axis-aligned rectangle [x0, x1) x [y0, y1), pixel units. */
export function fillRect(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: RGB): void {
  fillCoverage(img, x0, y0, x1, y1, (x, y) => x >= x0 && x < x1 && y >= y0 && y < y1, c);
}

/**
 * Filled convex polygon. `pts` = [x0, y0, x1, y1, ...] in either winding order.
 * A sample is inside when it is on the inner side of (or on) every edge. A clockwise list is
 * reversed first, so both windings evaluate the same edge expressions (identical bytes).
 */
export function fillConvexPolygon(img: RgbImage, input: ArrayLike<number>, c: RGB): void {
  const n = input.length / 2;
  let pts = input;
  let signed = 0;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    signed += input[2 * i] * input[2 * j + 1] - input[2 * j] * input[2 * i + 1];
  }
  if (signed < 0) {
    const r: number[] = [];
    for (let i = n - 1; i >= 0; i--) r.push(input[2 * i], input[2 * i + 1]);
    pts = r;
  }
  if (n < 3) return;
  let area2 = 0;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const ax = pts[2 * i];
    const ay = pts[2 * i + 1];
    const j = (i + 1) % n;
    area2 += ax * pts[2 * j + 1] - pts[2 * j] * ay;
    if (ax < minX) minX = ax;
    if (ax > maxX) maxX = ax;
    if (ay < minY) minY = ay;
    if (ay > maxY) maxY = ay;
  }
  if (area2 === 0) return;
  const s = area2 > 0 ? 1 : -1;
  // Edge i: inside when s * cross(b - a, p - a) >= 0.
  const ex = new Float64Array(n);
  const ey = new Float64Array(n);
  const ax = new Float64Array(n);
  const ay = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    ax[i] = pts[2 * i];
    ay[i] = pts[2 * i + 1];
    ex[i] = s * (pts[2 * j] - pts[2 * i]);
    ey[i] = s * (pts[2 * j + 1] - pts[2 * i + 1]);
  }
  fillCoverage(img, minX, minY, maxX, maxY, (x, y) => {
    for (let i = 0; i < n; i++) if (ex[i] * (y - ay[i]) - ey[i] * (x - ax[i]) < 0) return false;
    return true;
  }, c);
}

/** Capsule: all points within distance r of the segment (x0, y0)-(x1, y1) ("fat segment"). */
export function fillCapsule(img: RgbImage, x0: number, y0: number, x1: number, y1: number, r: number, c: RGB): void {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const r2 = r * r;
  fillCoverage(img, Math.min(x0, x1) - r, Math.min(y0, y1) - r, Math.max(x0, x1) + r, Math.max(y0, y1) + r, (x, y) => {
    let t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const qx = x0 + t * dx - x;
    const qy = y0 + t * dy - y;
    return qx * qx + qy * qy <= r2;
  }, c);
}

/**
 * Paint every pixel of the image with the average of `colorAt` over its 16 samples
 * (`colorAt` returns packed 0xRRGGBB). Each channel: (sum + 8) >> 4. Used for backgrounds made
 * of several regions so shared edges blend exactly once.
 */
export function shadeSamples(img: RgbImage, colorAt: (x: number, y: number) => number): void {
  const d = img.data;
  for (let py = 0; py < img.height; py++) {
    for (let px = 0; px < img.width; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < 4; j++) {
        const sy = py + OFFS[j];
        for (let i = 0; i < 4; i++) {
          const c = colorAt(px + OFFS[i], sy);
          r += (c >> 16) & 255;
          g += (c >> 8) & 255;
          b += c & 255;
        }
      }
      const o = (py * img.width + px) * 3;
      d[o] = (r + 8) >> 4;
      d[o + 1] = (g + 8) >> 4;
      d[o + 2] = (b + 8) >> 4;
    }
  }
}

/** Pack an RGB triple as 0xRRGGBB. */
export function packRgb(c: RGB): number {
  return (c[0] << 16) | (c[1] << 8) | c[2];
}

/**
 * `shadeSamples` for a colour that depends on x and y only through per-axis classes:
 * colour(x, y) = colorOf(classX(x), classY(y)) (e.g. a grid of cells). Same bytes as
 * shadeSamples(img, (x, y) => colorOf(classX(x), classY(y))), but the classes are computed once
 * per sample column/row, and a pixel whose 4 sample columns and 4 sample rows each share one
 * class is painted without averaging (all 16 samples have the same colour).
 */
export function shadeSeparable(img: RgbImage, classX: (x: number) => number, classY: (y: number) => number, colorOf: (cx: number, cy: number) => number): void {
  const W = img.width;
  const H = img.height;
  const cx = new Int32Array(4 * W);
  const cy = new Int32Array(4 * H);
  for (let px = 0; px < W; px++) for (let i = 0; i < 4; i++) cx[4 * px + i] = classX(px + OFFS[i]);
  for (let py = 0; py < H; py++) for (let j = 0; j < 4; j++) cy[4 * py + j] = classY(py + OFFS[j]);
  const d = img.data;
  for (let py = 0; py < H; py++) {
    const yUniform = cy[4 * py] === cy[4 * py + 3] && cy[4 * py] === cy[4 * py + 1] && cy[4 * py] === cy[4 * py + 2];
    for (let px = 0; px < W; px++) {
      const o = (py * W + px) * 3;
      const xUniform = cx[4 * px] === cx[4 * px + 3] && cx[4 * px] === cx[4 * px + 1] && cx[4 * px] === cx[4 * px + 2];
      if (xUniform && yUniform) {
        const c = colorOf(cx[4 * px], cy[4 * py]);
        d[o] = (c >> 16) & 255;
        d[o + 1] = (c >> 8) & 255;
        d[o + 2] = c & 255;
        continue;
      }
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < 4; j++) {
        for (let i = 0; i < 4; i++) {
          const c = colorOf(cx[4 * px + i], cy[4 * py + j]);
          r += (c >> 16) & 255;
          g += (c >> 8) & 255;
          b += c & 255;
        }
      }
      d[o] = (r + 8) >> 4;
      d[o + 1] = (g + 8) >> 4;
      d[o + 2] = (b + 8) >> 4;
    }
  }
}
