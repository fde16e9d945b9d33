import { ValueError } from '../tensor/errors.js';

/**
 * Wilson score interval for a binomial proportion (95% by default, z = 1.959963984540054).
 * Better than the normal interval near 0 and 1, where low-bit models live.
 */
export function wilson(successes: number, n: number, z = 1.959963984540054): [number, number] {
  if (!Number.isInteger(successes) || !Number.isInteger(n) || n < 0 || successes < 0 || successes > n) {
    throw new ValueError('wilson', `bad counts ${successes}/${n}`);
  }
  if (n === 0) return [0, 1];
  const p = successes / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Mean squared difference of two equal-length vectors (float64 accumulation). */
export function mseVec(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new ValueError('mseVec', `lengths ${a.length} and ${b.length}`);
  if (a.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s / a.length;
}
