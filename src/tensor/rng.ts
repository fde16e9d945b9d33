import { ValueError } from './errors.js';
import { log } from './math.js';
import { Tensor, type Shape } from './tensor.js';

/**
 * Seeded PRNG: xoshiro128** (Blackman & Vigna) over 32-bit integer arithmetic, seeded by
 * splitmix32. Only Math.imul, shifts and exact float operations are used (normals go through
 * our own `log`), so every runtime produces the same stream for the same seed.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  /** @param seed any integer (doubles are reduced to their low 32 bits and high bits mixed in) */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new ValueError('Rng', `seed must be finite, got ${seed}`);
    let x = (seed >>> 0) ^ Math.floor(seed / 4294967296);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** An independent stream for (seed, ...keys), e.g. Rng.derive(seed, episode, step). */
  static derive(seed: number, ...keys: number[]): Rng {
    let h = seed >>> 0;
    for (const k of keys) {
      h = Math.imul(h ^ (k >>> 0), 0x9e3779b1);
      h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
    }
    return new Rng(h);
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, n). Rejection sampling: no modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new ValueError('Rng.int', `bad bound ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const v = this.nextU32();
      if (v < limit) return v % n;
    }
  }

  /** Standard normal by Marsaglia's polar method (pairs; the second value is kept). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const m = Math.sqrt((-2 * log(s)) / s);
      this.spare = v * m;
      return u * m;
    }
  }

  /** f32 tensor of uniforms in [lo, hi). */
  uniformTensor(shape: Shape, lo = 0, hi = 1): Tensor<'f32'> {
    const t = new Tensor('f32', shape);
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * this.uniform();
    return t;
  }

  /** f32 tensor of normals with the given mean and std. */
  normalTensor(shape: Shape, mean = 0, std = 1): Tensor<'f32'> {
    const t = new Tensor('f32', shape);
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = mean + std * this.normal();
    return t;
  }

  /** In-place Fisher-Yates shuffle of an index array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = xs[i];
      xs[i] = xs[j];
      xs[j] = tmp;
    }
    return xs;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
