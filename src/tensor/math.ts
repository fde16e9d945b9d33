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

// ---------------------------------------------------------------------------------------------
// erf / erfc: the piecewise rational approximations of fdlibm's s_erf.c (Sun Microsystems,
// public coefficients), re-written over this file's exp. Intervals on |x|:
//   [0, 0.84375)        erf(x) = x + x R(x^2)/S(x^2)
//   [0.84375, 1.25)     erf(x) = erx + P(s)/Q(s), s = |x| - 1, erx = erf(1) rounded to float
//   [1.25, 1/0.35)      erfc(x) = exp(-z^2 - 0.5625) exp((z-x)(z+x) + Ra(1/x^2)/Sa(1/x^2)) / x
//   [1/0.35, 28)        same with Rb/Sb
// where z is x with its low 32 mantissa bits cleared, so -z^2 is exact and the small
// correction (z-x)(z+x) carries the rest.

const ERX = 8.45062911510467529297e-1;
const EFX = 1.28379167095512586316e-1; // 2/sqrt(pi) - 1
const EFX8 = 1.02703333676410069053; // 8 EFX

const PP = [1.28379167095512558561e-1, -3.25042107247001499370e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3, -2.37630166566501626084e-5];
const QQ = [3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4, -3.96022827877536812320e-6];
const PA = [-2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1, -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.16637559486879084300e-3];
const QA = [1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1, 1.36370839120290507362e-2, 1.19844998467991074170e-2];
const RA = [-9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1, -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592];
const SA = [1.96512716674392571292e1, 1.37657754143519042600e2, 4.34565877475229228821e2, 6.45387271733267880336e2, 4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2];
const RB = [-9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2, -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2];
const SB = [3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3, 2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1];

/** c[0] + c[1] t + c[2] t^2 + ... (Horner, highest degree first). */
function poly(c: readonly number[], t: number): number {
  let p = c[c.length - 1];
  for (let i = c.length - 2; i >= 0; i--) p = p * t + c[i];
  return p;
}

/** 1 + c[0] t + c[1] t^2 + ... (the denominators, whose constant term is 1). */
function poly1(c: readonly number[], t: number): number {
  return 1 + t * poly(c, t);
}

/** x + x R/S on |x| < 0.84375 (shared by erf and erfc). */
function erfSmall(x: number): number {
  const z = x * x;
  return x + x * (poly(PP, z) / poly1(QQ, z));
}

/** P/Q on s = |x| - 1 for |x| in [0.84375, 1.25): erf(|x|) - erx. */
function erfMid(ax: number): number {
  const s = ax - 1;
  return poly(PA, s) / poly1(QA, s);
}

/** erfc(ax) for ax in [1.25, 28), ax > 0. */
function erfcTail(ax: number): number {
  const s = 1 / (ax * ax);
  const rs = ax < 1 / 0.35 ? poly(RA, s) / poly1(SA, s) : poly(RB, s) / poly1(SB, s);
  f64[0] = ax;
  u32[0] = 0; // clear the low mantissa word: z*z is exact
  const z = f64[0];
  return (exp(-z * z - 0.5625) * exp((z - ax) * (z + ax) + rs)) / ax;
}

/** The error function erf(x) = 2/sqrt(pi) int_0^x e^(-t^2) dt. Odd; erf(±Inf) = ±1. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 0.84375) {
    if (ax < 3.725290298461914e-9) {
      // 2^-28: x (2/sqrt(pi)) to working precision; scaled by 8 so subnormal x keeps its bits
      return ax < 2.2250738585072014e-308 ? 0.125 * (8 * x + EFX8 * x) : x + EFX * x;
    }
    return erfSmall(x);
  }
  if (ax < 1.25) {
    const r = ERX + erfMid(ax);
    return x < 0 ? -r : r;
  }
  if (ax >= 6) return x < 0 ? -1 : 1; // erfc(6) = 2.2e-17 < 2^-53
  const r = 1 - erfcTail(ax);
  return x < 0 ? -r : r;
}

/** The complementary error function 1 - erf(x), accurate in its tails (erfc(27) ~ 5e-319). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 0.84375) {
    if (ax < 1.3877787807814457e-17) return 1 - x; // 2^-56
    if (x < 0.25) return 1 - erfSmall(x);
    const z = x * x;
    const r = x * (poly(PP, z) / poly1(QQ, z));
    return 0.5 - (r + (x - 0.5));
  }
  if (ax < 1.25) {
    const pq = erfMid(ax);
    return x < 0 ? 1 + (ERX + pq) : 1 - ERX - pq;
  }
  if (ax < 28) {
    if (x < 0 && ax >= 6) return 2;
    const r = erfcTail(ax);
    return x < 0 ? 2 - r : r;
  }
  return x < 0 ? 2 : 0;
}
