/**
 * Separable resampling with the triangle (bilinear) filter, widened by the scale factor when
 * shrinking: the semantics of torchvision's Resize(antialias=True) and PIL's BILINEAR. When
 * enlarging it is exactly bilinear with align_corners=False (edge samples clamp).
 * Reference semantics, float64 throughout, rounding once at the end (Math.round, then clamp).
 */

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array; // (out, maxCount)
  maxCount: number;
}

/** Per-output source windows and normalised weights for in -> out along one axis. */
export function triangleTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const support = scale >= 1 ? scale : 1;
  const inv = scale >= 1 ? 1 / scale : 1;
  const maxCount = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxCount);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.floor(center - support + 0.5), 0);
    const xmax = Math.min(Math.floor(center + support + 0.5), inSize);
    let total = 0;
    const n = Math.min(xmax - xmin, maxCount);
    for (let j = 0; j < n; j++) {
      const t = Math.abs((j + xmin - center + 0.5) * inv);
      const w = t < 1 ? 1 - t : 0;
      weights[i * maxCount + j] = w;
      total += w;
    }
    if (total > 0) for (let j = 0; j < n; j++) weights[i * maxCount + j] /= total;
    start[i] = xmin;
    count[i] = n;
  }
  return { start, count, weights, maxCount };
}

/**
 * Resize a (h, w, 3) float image (values 0..255) to (outH, outW, 3) uint8.
 * @param src (h, w, 3) float64
 */
export function resizeToRgb8(src: Float64Array, h: number, w: number, outH: number, outW: number): Uint8Array {
  const tx = triangleTaps(w, outW);
  const ty = triangleTaps(h, outH);
  // Horizontal pass: (h, outW, 3)
  const mid = new Float64Array(h * outW * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const s = tx.start[x];
      const n = tx.count[x];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < n; j++) {
        const wt = tx.weights[x * tx.maxCount + j];
        const o = (y * w + s + j) * 3;
        r += wt * src[o];
        g += wt * src[o + 1];
        b += wt * src[o + 2];
      }
      const m = (y * outW + x) * 3;
      mid[m] = r;
      mid[m + 1] = g;
      mid[m + 2] = b;
    }
  }
  const out = new Uint8Array(outH * outW * 3);
  for (let y = 0; y < outH; y++) {
    const s = ty.start[y];
    const n = ty.count[y];
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += ty.weights[y * ty.maxCount + j] * mid[((s + j) * outW + x) * 3 + c];
        const q = Math.round(v);
        out[(y * outW + x) * 3 + c] = q < 0 ? 0 : q > 255 ? 255 : q;
      }
    }
  }
  return out;
}
