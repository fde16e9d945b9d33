import { ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { Tensor, sameShape } from '../tensor/tensor.js';

/** Named float parameters of a model, canonical names (docs/formats.md). */
export type WeightMap = Map<string, Tensor<'f32'>>;

/** Fetch a parameter and check its shape; the error names the parameter and both shapes. */
export function take(w: WeightMap, name: string, shape: readonly number[]): Tensor<'f32'> {
  const t = w.get(name);
  if (!t) throw new ValueError('weights', `missing parameter ${name} ${fmtShape(shape)}`);
  if (t.dtype !== 'f32') throw new ValueError('weights', `parameter ${name} is ${t.dtype}, expected f32`);
  if (!sameShape(t.shape, shape)) throw new ShapeError('weights', `parameter ${name} is ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`);
  return t;
}

/** The shape of every parameter a model of this layout has, in a fixed order. */
export type ParamSpec = [name: string, shape: number[], init: 'linear' | 'zeros' | 'ones' | 'pos' | 'cls' | 'ls'][];

/**
 * Fresh weights: linear and positional weights ~ N(0, 0.02) truncated at 2 std (as timm's
 * trunc_normal_), biases and LayerNorm betas 0, LayerNorm gammas 1, LayerScale 0.1, CLS N(0, 1e-6).
 */
export function initWeights(spec: ParamSpec, rng: Rng): WeightMap {
  const w: WeightMap = new Map();
  for (const [name, shape, kind] of spec) {
    const t = new Tensor('f32', shape);
    const d = t.f32;
    switch (kind) {
      case 'linear':
      case 'pos':
        for (let i = 0; i < d.length; i++) {
          let z = rng.normal();
          while (Math.abs(z) > 2) z = rng.normal();
          d[i] = 0.02 * z;
        }
        break;
      case 'cls':
        for (let i = 0; i < d.length; i++) d[i] = 1e-6 * rng.normal();
        break;
      case 'ones':
        d.fill(1);
        break;
      case 'ls':
        d.fill(0.1);
        break;
      case 'zeros':
        break;
    }
    w.set(name, t);
  }
  return w;
}

/** Names in the map that the spec does not know: a converter or config mismatch. */
export function unknownNames(w: WeightMap, spec: ParamSpec): string[] {
  const known = new Set(spec.map((s) => s[0]));
  return [...w.keys()].filter((k) => !known.has(k));
}

export function paramCount(w: WeightMap): number {
  let n = 0;
  for (const t of w.values()) n += t.size;
  return n;
}
