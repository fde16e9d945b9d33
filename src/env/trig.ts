/**
 * Deterministic sin, cos and atan2 for values that feed stored bits (PushT block poses,
 * rendered vertices). Math.sin/cos/atan2 are not pinned by ECMAScript and differ in the last
 * ulp between engines; these use only + - * / and Math.round (all exactly rounded), so a seed
 * gives the same bits on Node, Deno, Bun and browsers.
 *
 * Method (fdlibm, Sun Microsystems, public coefficients): sin/cos reduce x = n pi/2 + r with a
 * three-part Cody-Waite split of pi/2 (exact products for |n| < 2^20, i.e. |x| < 1.6e6; beyond
 * that the result stays deterministic but loses accuracy), then the |r| <= pi/4 kernels
 * __kernel_sin / __kernel_cos. atan uses fdlibm's s_atan.c table reduction; atan2 the usual
 * quadrant logic. Accuracy within 2 ulp of the engine's results on the tested ranges.
 */

const PIO2_1 = 1.57079632673412561417e0; // first 33 bits of pi/2
const PIO2_2 = 6.07710050630396597660e-11; // next 33 bits
const PIO2_2T = 2.02226624879595063154e-21; // pi/2 - (PIO2_1 + PIO2_2)
const INV_PIO2 = 6.36619772367581382433e-1;

const S1 = -1.66666666666666324348e-1;
const S2 = 8.33333333332248946124e-3;
const S3 = -1.98412698298579493134e-4;
const S4 = 2.75573137070700676789e-6;
const S5 = -2.50507602534068634195e-8;
const S6 = 1.58969099521155010221e-10;

const C1 = 4.16666666666666019037e-2;
const C2 = -1.38888888888741095749e-3;
const C3 = 2.48015872894767294178e-5;
const C4 = -2.75573143513906633035e-7;
const C5 = 2.08757232129817482790e-9;
const C6 = -1.13596475577881948265e-11;

/** sin on |r| <= pi/4. */
function kSin(r: number): number {
  const z = r * r;
  const v = z * r;
  const p = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return r + v * (S1 + z * p);
}

/** cos on |r| <= pi/4 (fdlibm's compensated form of 1 - z/2 + z^2 C(z)). */
function kCos(r: number): number {
  const z = r * r;
  const c = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  const hz = 0.5 * z;
  const w = 1 - hz;
  return w + ((1 - w - hz) + z * c);
}

/** x = n pi/2 + r; returns n mod 4 and writes r. */
const red = { r: 0 };
function reduce(x: number): number {
  const n = Math.round(x * INV_PIO2);
  red.r = x - n * PIO2_1 - n * PIO2_2 - n * PIO2_2T;
  return ((n % 4) + 4) % 4;
}

/** Deterministic sine. NaN/Infinity give NaN. */
export function sin(x: number): number {
  if (!Number.isFinite(x)) return NaN;
  if (Math.abs(x) < 7.450580596923828e-9) return x; // 2^-27: sin x = x to working precision (keeps -0)
  if (Math.abs(x) <= 0.7853981633974483) return kSin(x);
  const q = reduce(x);
  const r = red.r;
  return q === 0 ? kSin(r) : q === 1 ? kCos(r) : q === 2 ? -kSin(r) : -kCos(r);
}

/** Deterministic cosine. NaN/Infinity give NaN. */
export function cos(x: number): number {
  if (!Number.isFinite(x)) return NaN;
  if (Math.abs(x) <= 0.7853981633974483) return kCos(x);
  const q = reduce(x);
  const r = red.r;
  return q === 0 ? kCos(r) : q === 1 ? -kSin(r) : q === 2 ? -kCos(r) : kSin(r);
}

const ATANHI = [4.63647609000806093515e-1, 7.85398163397448278999e-1, 9.82793723247329054082e-1, 1.57079632679489655800e0];
const ATANLO = [2.26987774529616870924e-17, 3.06161699786838301793e-17, 1.39033110312309984516e-17, 6.12323399573676603587e-17];
const AT = [
  3.33333333333329318027e-1, -1.99999999998764832476e-1, 1.42857142725034663711e-1, -1.11111104054623557880e-1,
  9.09088713343650656196e-2, -7.69187620504482999495e-2, 6.66107313738753120669e-2, -5.83357013379057348645e-2,
  4.97687799461593236017e-2, -3.65315727442169155270e-2, 1.62858201153657823623e-2,
];

/** Deterministic arctangent (fdlibm s_atan.c). */
export function atan(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 7.378697629483821e19) return x > 0 ? ATANHI[3] + ATANLO[3] : -ATANHI[3] - ATANLO[3]; // 2^66
  let id = -1;
  let t = x;
  if (ax < 0.4375) {
    if (ax < 7.450580596923828e-9) return x; // 2^-27
  } else {
    if (ax < 1.1875) {
      if (ax < 0.6875) {
        id = 0;
        t = (2 * ax - 1) / (2 + ax);
      } else {
        id = 1;
        t = (ax - 1) / (ax + 1);
      }
    } else if (ax < 2.4375) {
      id = 2;
      t = (ax - 1.5) / (1 + 1.5 * ax);
    } else {
      id = 3;
      t = -1 / ax;
    }
  }
  const z = t * t;
  const w = z * z;
  const s1 = z * (AT[0] + w * (AT[2] + w * (AT[4] + w * (AT[6] + w * (AT[8] + w * AT[10])))));
  const s2 = w * (AT[1] + w * (AT[3] + w * (AT[5] + w * (AT[7] + w * AT[9]))));
  if (id < 0) return t - t * (s1 + s2);
  const r = ATANHI[id] - (t * (s1 + s2) - ATANLO[id] - t);
  return x < 0 ? -r : r;
}

const PI = 3.1415926535897931160e0;
const PI_LO = 1.2246467991473531772e-16;

/** Deterministic atan2(y, x) in [-pi, pi], quadrants as Math.atan2 (signed zeros included). */
export function atan2(y: number, x: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  const yNeg = y < 0 || Object.is(y, -0);
  const xNeg = x < 0 || Object.is(x, -0);
  if (y === 0) return xNeg ? (yNeg ? -PI : PI) : y;
  if (x === 0) return yNeg ? -ATANHI[3] - ATANLO[3] : ATANHI[3] + ATANLO[3];
  if (!Number.isFinite(x)) {
    if (!Number.isFinite(y)) {
      const q = xNeg ? 3 * 0.7853981633974483 : 0.7853981633974483;
      return yNeg ? -q : q;
    }
    return xNeg ? (yNeg ? -PI : PI) : yNeg ? -0 : 0;
  }
  if (!Number.isFinite(y)) return yNeg ? -ATANHI[3] - ATANLO[3] : ATANHI[3] + ATANLO[3];
  const z = atan(Math.abs(y / x));
  if (!xNeg) return yNeg ? -z : z;
  const r = PI - (z - PI_LO);
  return yNeg ? -r : r;
}

/** Angle wrapped into [-pi, pi): a - 2 pi round(a / 2 pi), exact arithmetic only. */
export function wrapAngle(a: number): number {
  const TWO_PI = 6.283185307179586;
  let w = a - TWO_PI * Math.floor((a + PI) / TWO_PI);
  if (w >= PI) w -= TWO_PI;
  if (w < -PI) w += TWO_PI;
  return w;
}

/** Angle into [0, 2 pi) as Python's `a % (2 pi)` does. */
export function mod2pi(a: number): number {
  const TWO_PI = 6.283185307179586;
  const w = a - TWO_PI * Math.floor(a / TWO_PI);
  return w >= TWO_PI ? 0 : w < 0 ? 0 : w;
}
