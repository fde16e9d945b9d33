/**
 * The reference exp (../math.ts) on float64 lanes, for softmax arguments x = v - max
 * (x in [-Inf, 0], or NaN). Same operations, same constants, same order:
 *
 *   k = Math.round(x / ln 2)    r = x - k·LN2_HI - k·LN2_LO
 *   p = 1 + r(1 + r(1/2 + ... + r/13!))   (Horner, 13 steps)
 *   e = p · 2^k                 (2^k from its bit pattern, as the reference's pow2)
 *
 * so e(x) = exp(x) bit for bit for x >= -708.39 (k >= -1022: the reference's unsplit
 * branch), and 0 <= e(x) < 2^-1021 below (the reference's split or zero branches are not
 * reproduced). In a softmax row that difference is invisible: the row sum s >= 1 (the max
 * entry contributes exp(0) = 1 exactly) absorbs any addend < 2^-1021 unchanged, and
 * fround(e / s) = 0 for both. Simplifications, exact on this domain:
 * - Math.round(t) = floor(t + 0.5) for t <= 0 (t + 0.5 is exact for t <= -1/4 and floors to 0
 *   either way above), up to the sign of a zero k, which changes no later bit;
 * - x is first clamped to >= -746 (pmax keeps NaN), so -Inf lanes give a tiny e, not NaN.
 *
 * U vectors are evaluated interleaved (step by step across the U chains): the Horner chain
 * is latency-bound, and interleaving 4 of them runs ~1.5x faster than one at a time.
 */
import { f64x2, i64x2 } from '../wasm/emit/index.js';
import type { Expr, FuncBuilder, Local } from '../wasm/emit/index.js';

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700;
/** 1/n! for n = 13 down to 2, then 1, 1: the Horner constants of math.ts exp, same doubles. */
const HORNER = [1 / 6227020800, 1 / 479001600, 1 / 39916800, 1 / 3628800, 1 / 362880, 1 / 40320, 1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1, 1];
/** 1.5·2^52: k + MAGIC holds the integer k in its low mantissa bits (|k| < 2^51). */
const MAGIC = 6755399441055744;

/**
 * 2^k for integral float64 lanes k in [-1022, 1023], from its bit pattern:
 * bits(k + MAGIC) = bits(MAGIC) + k, and bits(MAGIC) has its low 12 bits clear, so
 * (bits(k + MAGIC) + 1023) << 52 = (k + 1023) << 52 = bits(2^k).
 */
function pow2(k: Expr): Expr {
  return i64x2.shl(i64x2.add(f64x2.add(k, f64x2.splat(MAGIC)), i64x2.splat(1023)), 52);
}

export interface ExpTemps {
  readonly k: Local[];
  readonly r: Local[];
  readonly p: Local[];
}

/** Declare the v128 temporaries for `u` interleaved chains. */
export function expTemps(f: FuncBuilder, u: number): ExpTemps {
  const mk = (n: string) => Array.from({ length: u }, (_, i) => f.local('v128', `exp_${n}${i}`));
  return { k: mk('k'), r: mk('r'), p: mk('p') };
}

/** Emit `xs[i] = e(xs[i])` in place for every local of `xs` (at most tm's chain count). */
export function emitSoftmaxExp(f: FuncBuilder, xs: readonly Local[], tm: ExpTemps): void {
  const U = xs.length;
  const { k, r, p } = tm;
  for (let u = 0; u < U; u++) f.set(xs[u], f64x2.pmax(xs[u], f64x2.splat(-746)));
  for (let u = 0; u < U; u++) f.set(k[u], f64x2.floor(f64x2.add(f64x2.mul(xs[u], f64x2.splat(INV_LN2)), f64x2.splat(0.5))));
  for (let u = 0; u < U; u++) f.set(r[u], f64x2.sub(f64x2.sub(xs[u], f64x2.mul(k[u], f64x2.splat(LN2_HI))), f64x2.mul(k[u], f64x2.splat(LN2_LO))));
  for (let u = 0; u < U; u++) f.set(p[u], f64x2.add(f64x2.mul(f64x2.splat(HORNER[0]), r[u]), f64x2.splat(HORNER[1])));
  for (let i = 2; i < HORNER.length; i++) {
    for (let u = 0; u < U; u++) f.set(p[u], f64x2.add(f64x2.mul(p[u], r[u]), f64x2.splat(HORNER[i])));
  }
  for (let u = 0; u < U; u++) f.set(xs[u], f64x2.mul(p[u], pow2(f64x2.pmax(k[u], f64x2.splat(-1022)))));
}
