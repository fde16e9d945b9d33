/**
 * Reference semantics for GELU (exact erf form). float32 storage (results written to
 * Float32Array); evaluated in float64 as 0.5 x erfc(-x / sqrt 2), which equals
 * 0.5 x (1 + erf(x / sqrt 2)) without the cancellation of 1 + erf for x << 0, and rounded to
 * float32 once. Never optimized: speed lives in ../wasm.
 */
import { erfc, exp } from '../math.js';
import type { Tensor } from '../tensor.js';
import { map } from './elementwise.js';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327; // 1 / sqrt(2 pi)

/** gelu(v) = v Phi(v), Phi the standard normal CDF, in float64; gelu(-Inf) = 0 (the limit; torch gives NaN). */
export function geluScalar(v: number): number {
  if (v === -Infinity) return 0;
  return 0.5 * v * erfc(-v * SQRT1_2);
}

/** d gelu / dv = Phi(v) + v phi(v), in float64. */
export function geluGradScalar(v: number): number {
  if (v === Infinity) return 1;
  if (v === -Infinity) return 0;
  return 0.5 * erfc(-v * SQRT1_2) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
}

/** GELU, as torch.nn.functional.gelu(x) (approximate='none'). @param x (...) @returns (...) */
export function gelu(x: Tensor<'f32'>): Tensor<'f32'> {
  return map('gelu', x, geluScalar);
}

/** max(x, 0) (relu(-0) = 0, NaN stays NaN). */
export function relu(x: Tensor<'f32'>): Tensor<'f32'> {
  return map('relu', x, (v) => (v > 0 ? v : v === v ? 0 : v));
}

/** Logistic sigmoid 1 / (1 + e^-x) in float64 with the deterministic exp; exact 0/1 limits at ±Inf. */
export function sigmoidScalar(v: number): number {
  return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v));
}

/** Logistic sigmoid, elementwise. */
export function sigmoid(x: Tensor<'f32'>): Tensor<'f32'> {
  return map('sigmoid', x, sigmoidScalar);
}
