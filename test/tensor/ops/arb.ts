/** fast-check arbitraries for small float32 tensors (shrinkable: shapes shrink toward 1, values toward 0). */
import fc from 'fast-check';
import { Tensor } from '../../../src/tensor/tensor.js';

export const dim = (max = 5): fc.Arbitrary<number> => fc.integer({ min: 1, max });
export const shapeArb = (minRank = 1, maxRank = 4, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(dim(maxDim), { minLength: minRank, maxLength: maxRank });

/** Float32 values in [-range, range] (no NaN/Inf). */
export const valuesArb = (n: number, range = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.float({ min: -range, max: range, noNaN: true, noDefaultInfinity: true }).map(Math.fround), { minLength: n, maxLength: n });

export const tensorArb = (shape: readonly number[], range = 4): fc.Arbitrary<Tensor<'f32'>> => {
  const n = shape.reduce((a, b) => a * b, 1);
  return valuesArb(n, range).map((v) => new Tensor('f32', shape, Float32Array.from(v)));
};

/** A shape and a second shape that broadcasts with it (some dims set to 1, some leading dims dropped). */
export const broadcastPairArb: fc.Arbitrary<[number[], number[]]> = shapeArb(1, 4, 4).chain((s) =>
  fc
    .tuple(fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.integer({ min: 0, max: s.length - 1 }), fc.boolean())
    .map(([ones, drop, swap]) => {
      const t = s.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
      return swap ? [t, s] : [s, t];
    }),
);

/** Unravel a flat index of `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** Element of t at the broadcast position `idx` of a larger output (right-aligned, size-1 dims stretched). */
export function atBroadcast(t: Tensor, idx: readonly number[]): number {
  const off = idx.length - t.ndim;
  let f = 0;
  for (let d = 0; d < t.ndim; d++) f = f * t.shape[d] + (t.shape[d] === 1 ? 0 : idx[off + d]);
  return t.data[f];
}
