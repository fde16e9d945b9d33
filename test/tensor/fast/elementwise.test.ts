/**
 * The elementwise add / mul kernel (src/tensor/fast/elementwise-emit.ts) against its twin
 * `binaryTwin`, and fast add / mul on arena (heap-resident) tensors, which is where the model's
 * residual adds run the kernel, against ops add / mul. Budget 0, bit-exact: every element is
 * one IEEE float32 + or · in all three (NaN == NaN; payloads are not part of the contract).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { add, mul } from '../../../src/tensor/fast/index.js';
import { binaryKernel, binaryTwin } from '../../../src/tensor/fast/elementwise.js';
import { allocF32, arenaInUse, heapPtr, withArena } from '../../../src/tensor/fast/stage.js';
import * as ref from '../../../src/tensor/ops/index.js';
import { ShapeError } from '../../../src/tensor/errors.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { setThreads, shutdownThreads } from '../../../src/tensor/threads/pool.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';
import { AROUND_SIMD, diffMessage, f32Value, noise } from './support.js';

afterAll(() => shutdownThreads());

type Kind = 'add' | 'mul';

function twinOf(kind: Kind, A: Float32Array, B: Float32Array): Float32Array {
  const out = new Float32Array(A.length);
  binaryTwin(kind, A, B, out);
  return out;
}

function kernelOf(kind: Kind, A: Float32Array, B: Float32Array): Float32Array {
  const out = new Float32Array(A.length).fill(Number.NaN);
  binaryKernel(kind, A, B, out);
  return out;
}

function expectSame(what: string, want: Float32Array, got: Float32Array): void {
  expect(got.length, what).toBe(want.length);
  const msg = diffMessage(what, want, got);
  if (msg) expect.fail(msg);
}

/** rows and periods around the 4-lane vector and the 8-float loop, plus the model's widths */
const count = fc.constantFrom(...AROUND_SIMD, 84, 336);

describe('binary kernel vs its twin binaryTwin (bit-exact)', () => {
  it('add / mul, B full or one row broadcast, rows x P around the vector width (tails of 1..3, P < 4), ±0, overflow, subnormal values: bitwise equal', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.constantFrom<Kind>('add', 'mul'), count, count, fc.boolean(), fc.array(f32Value(3e38), { minLength: 1, maxLength: 97 }), (kind, rows, P, full, vals) => {
        runs++;
        const n = rows * P;
        const A = Float32Array.from({ length: n }, (_, i) => vals[i % vals.length]);
        const B = Float32Array.from({ length: full ? n : P }, (_, i) => vals[(i * 7 + 3) % vals.length]);
        expectSame(`${kind} rows=${rows} P=${P} ${full ? 'same' : 'rows'}`, twinOf(kind, A, B), kernelOf(kind, A, B));
      }),
      { numRuns: 200 },
    );
    expect(runs).toBe(200);
  });

  it('edge values: -0 + +0 = +0, -0 + -0 = -0, Inf + -Inf = NaN, max + max = Inf, products below the float32 range round to ±0, as the twin', () => {
    const A = Float32Array.of(-0, -0, Infinity, 3.4e38, 1e-30, -1e-30, 5, Number.NaN, 0);
    const B = Float32Array.of(0, -0, -Infinity, 3.4e38, 1e-30, 1e-30, -5, 1, -0);
    for (const kind of ['add', 'mul'] as const) expectSame(`${kind} edges`, twinOf(kind, A, B), kernelOf(kind, A, B));
    const s = kernelOf('add', A, B);
    expect(Object.is(s[0], 0)).toBe(true);
    expect(Object.is(s[1], -0)).toBe(true);
    expect(Number.isNaN(s[2])).toBe(true);
    expect(s[3]).toBe(Infinity);
    expect(Object.is(kernelOf('mul', A, B)[5], -0)).toBe(true);
  });

  it('2 threads split inputs of >= 2^16 elements into ranges (whole rows for a broadcast): the same bits as 1 thread and the twin', () => {
    expect(setThreads(2, nodeWorkers)).toBe(2);
    try {
      for (const [rows, P, full] of [[1000, 84, true], [801, 84, false], [65537, 1, true], [16411, 5, false]] as const) {
        const n = rows * P;
        const A = noise(n, rows, 100);
        const B = noise(full ? n : P, P + 1, 100);
        for (const kind of ['add', 'mul'] as const) {
          const what = `${kind} rows=${rows} P=${P} ${full ? 'same' : 'rows'}`;
          setThreads(2);
          const two = kernelOf(kind, A, B);
          setThreads(1);
          const one = kernelOf(kind, A, B);
          expectSame(`${what}: twin vs 1 thread`, twinOf(kind, A, B), one);
          expectSame(`${what}: 1 vs 2 threads`, one, two);
        }
      }
    } finally {
      setThreads(1);
    }
  });

  it('operands that do not fit: ShapeError naming the op', () => {
    expect(() => binaryKernel('add', new Float32Array(8), new Float32Array(3), new Float32Array(8))).toThrow(ShapeError);
    expect(() => binaryKernel('mul', new Float32Array(7), new Float32Array(8), new Float32Array(8))).toThrow(/binaryKernel mul/);
    expect(() => binaryKernel('add', new Float32Array(8), new Float32Array(0), new Float32Array(8))).toThrow(ShapeError);
  });
});

/** A tensor whose data lives in the innermost arena (as a layer's activations do). */
function inArena(t: Tensor<'f32'>): Tensor<'f32'> {
  const d = allocF32(t.size);
  d.set(t.data as Float32Array);
  return new Tensor('f32', t.shape, d);
}

function rand(shape: readonly number[], seed: number, vals?: readonly number[]): Tensor<'f32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = noise(n, seed, 3);
  if (vals) for (let i = 0; i < n; i += 5) d[i] = vals[(i / 5) % vals.length];
  return new Tensor('f32', shape, d);
}

describe('fast add / mul on arena tensors equal ops add / mul (bit-exact)', () => {
  const cases: [string, number[], number[]][] = [
    ['residual (B, N, D) + (B, N, D)', [37, 16, 84], [37, 16, 84]],
    ['positional embedding (B, N, D) + (1, N, D)', [37, 16, 84], [1, 16, 84]],
    ['embedding first: (1, N, D) + (B, N, D)', [1, 16, 84], [37, 16, 84]],
    ['bias (R, C) + (C), C = 3 (below a vector)', [301, 3], [3]],
    ['tile over patches (S, T, 1, E) + (1, 1, P, E)', [37, 2, 1, 10], [1, 1, 16, 10]],
    ['tile, operands swapped: (1, 1, P, E) + (S, T, 1, E)', [1, 1, 16, 10], [37, 2, 1, 10]],
    ['tile with a size-1 frame axis (S, 1, 1, E) + (1, 1, P, E)', [300, 1, 1, 10], [1, 1, 16, 10]],
    ['odd sizes (5, 7, 13) + (5, 7, 13)', [5, 7, 13], [5, 7, 13]],
  ];
  it.each(cases)('%s, with ±0 and huge values: add and mul equal the reference; the output lives in the arena', (_what, as, bs) => {
    const vals = [0, -0, 3e38, -3e38, 1e-40];
    const a = rand(as, 1, vals);
    const b = rand(bs, 2, vals.slice().reverse());
    const want = { add: ref.add(a, b), mul: ref.mul(a, b) };
    const got = withArena(() => {
      const x = inArena(a);
      const y = inArena(b);
      const s = add(x, y);
      const p = mul(x, y);
      expect(heapPtr(s.f32)).toBeGreaterThanOrEqual(0);
      expect(s.shape).toEqual(want.add.shape);
      const both = allocF32(s.size * 2);
      both.set(s.f32);
      both.set(p.f32, s.size);
      return both;
    });
    expect(arenaInUse()).toBe(0);
    const n = want.add.size;
    expectSame('add', want.add.f32, got.subarray(0, n));
    expectSame('mul', want.mul.f32, got.subarray(n));
    // and outside any arena (the TypeScript loops)
    expectSame('add, no arena', want.add.f32, add(a, b).f32);
    expectSame('mul, no arena', want.mul.f32, mul(a, b).f32);
  });
});
