/**
 * Rounding rules, each a named function, so a quantizer states which one it uses.
 *
 * | name                   | ties go to            | used by                                          |
 * |------------------------|-----------------------|--------------------------------------------------|
 * | roundHalfEven          | the even integer      | torch.round, std::nearbyint, ONNX rint: every     |
 * |                        |                       | quantizer in quantwm                              |
 * | roundHalfAwayFromZero  | away from zero        | C roundf: ggml Q8_0, MLAS zero points             |
 *
 * `Math.round` is neither: it sends ties toward +Infinity (Math.round(-2.5) = -2,
 * Math.round(2.5) = 3), so it is wrong for quantization and is not used here.
 *
 * Both functions are exact for every double and keep the sign of zero as torch does:
 * roundHalfEven(-0.4) = -0, roundHalfEven(-0.5) = -0.
 */

const TWO52 = 4503599627370496; // 2^52: doubles at or above it are integers; below it, x ± 2^52 has ulp 1

/**
 * Round to the nearest integer, ties to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2.
 * NaN and ±Infinity pass through.
 *
 * How: for 0 <= x < 2^52, x + 2^52 lies in [2^52, 2^53) where doubles are exactly the integers,
 * so the addition itself rounds x to an integer under IEEE's default mode, round-to-nearest-even;
 * subtracting 2^52 is exact. Negative x mirror this. (A floor-and-compare version is ~4x slower
 * and activations are rounded on every forward.)
 */
export function roundHalfEven(x: number): number {
  if (!(Math.abs(x) < TWO52)) return x; // NaN, ±Infinity, and doubles that are integers already
  const r = x >= 0 ? x + TWO52 - TWO52 : x - TWO52 + TWO52;
  return r === 0 ? x * 0 : r; // x * 0 keeps the sign of zero: roundHalfEven(-0.4) = -0
}

/** Round to the nearest integer, ties away from zero (C roundf): 0.5 -> 1, -2.5 -> -3. NaN and ±Infinity pass through. */
export function roundHalfAwayFromZero(x: number): number {
  const a = Math.abs(x);
  const f = Math.floor(a);
  const r = a - f >= 0.5 ? f + 1 : f; // a - f exact; never a + 0.5 (0.49999999999999994 + 0.5 rounds to 1)
  return x < 0 || Object.is(x, -0) ? -r : r;
}

/** The rounding rule a quantizer uses. */
export type Rounding = 'half-even' | 'half-away';

/** The function for a rounding rule. */
export function rounder(rule: Rounding): (x: number) => number {
  return rule === 'half-even' ? roundHalfEven : roundHalfAwayFromZero;
}
