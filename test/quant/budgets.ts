/**
 * Error budgets of the quant tests, each derived where it is defined. Tests quote them in titles.
 */

/** float32 unit roundoff u = 2^-24 (half an ulp of 1). */
export const U32 = 2 ** -24;

/**
 * RTN_ROUNDTRIP: for x inside the clipping range [(qmin - z) s, (qmax - z) s],
 *   |x - x̂| <= s/2 + 2u (|x| + |x̂|) + u s qabs,      qabs = max(|qmin|, |qmax|).
 * Derivation: with exact arithmetic round-to-nearest leaves |x/s - q'| <= 1/2. In float32,
 * t = fr(x / s) carries relative error u (a tie can flip to the far integer: +u|x|), the
 * 'mul-recip' form adds one more u from fr(1/s), the 'pre-round' zero point adds the rounding
 * of fr(t + z), at most u |t + z| <= u qabs steps of s, and x̂ = fr(q' s) adds u|x̂|.
 * MLX asserts the looser |x - x̂| <= s.
 */
export function rtnRoundtripBudget(s: number, x: number, xq: number, qabs: number): number {
  return s / 2 + 2 * U32 * (Math.abs(x) + Math.abs(xq)) + U32 * s * qabs;
}

/** Fake-quant and integer paths that share codes and epilogue order: bit-exact. */
export const INT_VS_FAKEQUANT = 0;

/**
 * F32_DOT(K, sumAbs): the textbook bound for a float32 dot product of length K accumulated
 * in any order, |fl(a·b) - a·b| <= γ_K Σ|a_i||b_i| with γ_K = K u / (1 - K u).
 */
export function f32DotBudget(K: number, sumAbs: number): number {
  const g = (K * U32) / (1 - K * U32);
  return g * sumAbs;
}
