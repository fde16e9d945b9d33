/**
 * Fast layout and elementwise ops (src/tensor/fast/layout.ts, elementwise.ts): bit-exact
 * (budget 0) with their reference twins, and the same typed errors for invalid arguments.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, concat, mergeHeads, mul, permute, scale, slice, splitHeads } from '../../../src/tensor/fast/index.js';
import * as ref from '../../../src/tensor/ops/index.js';
import { ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { diffMessage, f32Value, noise } from './support.js';

const dim: fc.Arbitrary<number> = fc.constantFrom(1, 2, 3, 4, 5, 8, 17);
const shapeArb = fc.array(dim, { minLength: 0, maxLength: 5 });

function same(what: string, r: Tensor, g: Tensor): void {
  expect(g.shape, what).toEqual(r.shape);
  const msg = diffMessage(what, r.data as Float32Array, g.data as Float32Array);
  if (msg) expect.fail(msg);
}

function rand(shape: readonly number[], seed: number): Tensor<'f32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor('f32', shape, noise(n, seed, 3));
}

describe('fast layout ops', () => {
  it('permute: every permutation of random shapes (rank 0..5, size-1 axes, contiguous runs) equals the reference bitwise', () => {
    let runs = 0;
    fc.assert(
      fc.property(shapeArb.chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length }), fc.nat())), ([shape, perm, seed]) => {
        runs++;
        const x = rand(shape, seed);
        same(`permute ${JSON.stringify(shape)} [${perm}]`, ref.permute(x, perm), permute(x, perm));
        const neg = perm.map((p) => p - shape.length);
        same('negative axes', ref.permute(x, neg), permute(x, neg));
      }),
      { numRuns: 300 },
    );
    expect(runs).toBe(300);
  });

  it('slice and concat along every axis (negative indices, empty ranges) equal the reference bitwise', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.array(dim, { minLength: 1, maxLength: 4 }), fc.nat(), fc.nat(), fc.nat(), fc.nat(), (shape, axSeed, a, b, seed) => {
        runs++;
        const ax = axSeed % shape.length;
        const n = shape[ax];
        const s = a % (n + 1);
        const e = s + (b % (n - s + 1));
        const x = rand(shape, seed);
        same(`slice ${JSON.stringify(shape)} axis ${ax} [${s}, ${e})`, ref.slice(x, ax, s, e), slice(x, ax, s, e));
        same('slice negative', ref.slice(x, ax - shape.length, s - n, e === n ? undefined : e - n), slice(x, ax - shape.length, s - n, e === n ? undefined : e - n));
        const y = rand(shape.map((d, i) => (i === ax ? (d % 3) + 1 : d)), seed + 1);
        same(`concat axis ${ax}`, ref.concat([x, y, x], ax), concat([x, y, x], ax));
        same('concat negative axis', ref.concat([y, x], ax - shape.length), concat([y, x], ax - shape.length));
      }),
      { numRuns: 300 },
    );
    expect(runs).toBe(300);
  });

  it('splitHeads / mergeHeads equal the reference reshape + permute (+ slice) bitwise', () => {
    for (const [B, N, H, dh] of [[1, 1, 1, 1], [2, 3, 2, 5], [3, 16, 4, 32], [1, 17, 6, 64]]) {
      const qkv = rand([B, N, 3 * H * dh], B + N);
      const t = ref.permute(qkv.reshape([B, N, 3, H, dh]), [2, 0, 3, 1, 4]);
      const got = splitHeads(qkv, H);
      const got5 = splitHeads(qkv.reshape([B, N, 3, H, dh]), H);
      ['q', 'k', 'v'].forEach((name, c) => {
        const r = ref.slice(t, 0, c, c + 1).reshape([B, H, N, dh]);
        same(`${name} ${B},${N},${H},${dh}`, r, got[name as 'q']);
        same(`${name} 5-D`, r, got5[name as 'q']);
      });
      const x = rand([B, H, N, dh], 3);
      same('mergeHeads', ref.permute(x, [0, 2, 1, 3]).reshape([B, N, H * dh]), mergeHeads(x));
    }
  });

  it('invalid arguments throw what the reference throws', () => {
    const x = rand([2, 3], 1);
    expect(() => permute(x, [0, 0])).toThrow(ValueError);
    expect(() => permute(x, [0])).toThrow(ValueError);
    expect(() => slice(x, 2, 0, 1)).toThrow(ValueError);
    expect(() => slice(x, 1, 2, 1)).toThrow(ValueError);
    expect(() => slice(x, 1, 0, 4)).toThrow(ValueError);
    expect(() => concat([], 0)).toThrow(ValueError);
    expect(() => concat([x, rand([3, 3], 2)], 1)).toThrow(ShapeError);
    expect(() => splitHeads(rand([1, 2, 7], 1), 2)).toThrow(ShapeError);
    expect(() => splitHeads(rand([1, 2, 6], 1), 0)).toThrow(ValueError);
    expect(() => mergeHeads(x)).toThrow(ShapeError);
    same('slice step 2 (reference path)', ref.slice(x, 1, 0, 3, 2), slice(x, 1, 0, 3, 2));
  });
});

describe('fast elementwise ops', () => {
  it('add / mul: equal shapes and suffix broadcasts on either side equal the reference bitwise (incl. ±0, huge, tiny values)', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.array(dim, { minLength: 1, maxLength: 4 }), fc.nat({ max: 4 }), fc.array(f32Value(1e3), { minLength: 1, maxLength: 50 }), fc.boolean(), (shape, keep, vals, flip) => {
        runs++;
        const n = shape.reduce((a, b) => a * b, 1);
        const a = new Tensor('f32', shape, Float32Array.from({ length: n }, (_, i) => vals[i % vals.length]));
        const tail = shape.slice(shape.length - Math.min(keep, shape.length));
        const bs = [...new Array(keep % 2).fill(1), ...tail];
        const m = bs.reduce((x, y) => x * y, 1);
        const b = new Tensor('f32', bs, Float32Array.from({ length: m }, (_, i) => vals[(i * 3 + 1) % vals.length]));
        const [l, r] = flip ? [b, a] : [a, b];
        same(`add ${JSON.stringify(l.shape)} + ${JSON.stringify(r.shape)}`, ref.add(l, r), add(l, r));
        same(`mul ${JSON.stringify(l.shape)} * ${JSON.stringify(r.shape)}`, ref.mul(l, r), mul(l, r));
        same('add same shape', ref.add(a, a), add(a, a));
        same('scale', ref.scale(a, 1 / Math.sqrt(32)), scale(a, 1 / Math.sqrt(32)));
      }),
      { numRuns: 300 },
    );
    expect(runs).toBe(300);
  });

  it('other broadcasts take the reference path; bad shapes and NaN scale throw as the reference', () => {
    const a = rand([3, 1, 4], 1);
    const b = rand([1, 5, 1], 2);
    same('outer broadcast add', ref.add(a, b), add(a, b));
    same('outer broadcast mul', ref.mul(a, b), mul(a, b));
    expect(() => add(rand([2, 3], 1), rand([4], 2))).toThrow(ShapeError);
    expect(() => scale(a, NaN)).toThrow(ValueError);
  });
});
