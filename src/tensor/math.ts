/**
 * Deterministic elementary functions.
 *
 * ECMAScript leaves the accuracy of Math.exp/log/sin/... to the engine (V8, JavaScriptCore
 * and SpiderMonkey differ in the last ulp), while +, -, *, / and Math.sqrt are exactly
 * rounded IEEE-754 everywhere. Everything here is built from the exact operations only, so a
 * seed gives the same bits on Node, Deno, Bun and in browsers. Accuracy: within 2 ulp of the
 * true double result on the tested range, far below float32 resolution.
 */

const LN2_HI = 6.93147180369123816490e-1; // upper bits of ln 2 (fdlibm split)
const LN2_LO = 1.90821492927058770002e-10; // ln 2 - LN2_HI
const INV_LN2 = 1.44269504088896338700;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = 1; // little-endian: word 1 holds sign, exponent and top mantissa bits

/** 2^k for integer k in [-1022, 1023], built from its bit pattern. */
function pow2(k: number): number {
  u32[0] = 0;
  u32[HI] = (k + 1023) << 20;
  return f64[0];
}

/** e^x. Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, then a degree-13 Taylor polynomial. */
export function exp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  const k = Math.round(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO;
  // Horner form of sum_{n=0}^{13} r^n / n!
  let p = 1 / 6227020800;
  p = p * r + 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  p = p * r + 1;
  // Split the scale so that subnormal results and k = 1024 stay exact.
  if (k > 1023) return p * pow2(1023) * pow2(k - 1023);
  if (k < -1022) return p * pow2(-1022) * pow2(k + 1022);
  return p * pow2(k);
}

/** Natural log. x = 2^e m with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(f / (2 + f)), f = m - 1. */
export function log(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54: lift subnormals into the normal range
    e = -54;
  }
  f64[0] = x;
  let hi = u32[HI];
  e += (hi >>> 20) - 1023;
  hi = (hi & 0x000fffff) | 0x3ff00000; // mantissa in [1, 2)
  u32[HI] = hi;
  let m = f64[0];
  if (m > Math.SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const f = m - 1;
  const s = f / (2 + f);
  const s2 = s * s;
  // atanh(s)/s = sum s^(2n) / (2n+1), |s| <= 0.1716, 12 terms reach 1e-19.
  let p = 1 / 25;
  p = p * s2 + 1 / 23;
  p = p * s2 + 1 / 21;
  p = p * s2 + 1 / 19;
  p = p * s2 + 1 / 17;
  p = p * s2 + 1 / 15;
  p = p * s2 + 1 / 13;
  p = p * s2 + 1 / 11;
  p = p * s2 + 1 / 9;
  p = p * s2 + 1 / 7;
  p = p * s2 + 1 / 5;
  p = p * s2 + 1 / 3;
  // log m = f - f^2/2 + ... written as 2s + 2s^3 p' to keep the leading term exact-ish
  const logm = 2 * s + 2 * s * s2 * p;
  return e * LN2_HI + (e * LN2_LO + logm);
}

/** tanh via exp, with the small-|x| branch that keeps relative accuracy near zero. */
export function tanh(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a > 22) return x > 0 ? 1 : -1;
  if (a < 0.5) {
    const e2 = expm1Small(2 * a);
    const t = e2 / (e2 + 2);
    return x < 0 ? -t : t;
  }
  const e = exp(2 * a);
  const t = 1 - 2 / (e + 1);
  return x < 0 ? -t : t;
}

/** e^x - 1 for |x| <= 1 by Taylor series (no cancellation). */
function expm1Small(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 2; n <= 20; n++) {
    term = (term * x) / n;
    sum += term;
  }
  return sum;
}

/** x^y for x > 0 as exp(y log x); integer y of small magnitude uses repeated squaring (exact rounding order fixed). */
export function pow(x: number, y: number): number {
  if (y === 0) return 1;
  if (Number.isInteger(y) && Math.abs(y) <= 64) {
    let r = 1;
    let b = x;
    let n = Math.abs(y);
    while (n > 0) {
      if (n & 1) r *= b;
      b *= b;
      n >>= 1;
    }
    return y < 0 ? 1 / r : r;
  }
  if (x === 0) return y > 0 ? 0 : Infinity;
  if (x < 0) return NaN;
  return exp(y * log(x));
}
