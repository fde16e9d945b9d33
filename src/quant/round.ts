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
 * Both functions are exact for every double (x - floor(x) is exact for |x| < 2^52, and larger
 * doubles are integers already) and keep the sign of zero as torch does:
 * roundHalfEven(-0.4) = -0, roundHalfEven(-0.5) = -0.
 */

/** Round to the nearest integer, ties to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2. NaN and ±Infinity pass through. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f; // exact, in [0, 1)
  let r: number;
  if (d < 0.5) r = f;
  else if (d > 0.5) r = f + 1;
  else r = f % 2 === 0 ? f : f + 1;
  // Keep -0 for results that round to zero from below (torch.round(-0.4) = -0.).
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
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
