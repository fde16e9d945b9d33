import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactConfig } from '../../../src/nn/compact.js';
import { tensorFns, type Fns } from '../../../src/nn/fn.js';
import { initWeights } from '../../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../../src/nn/world-model.js';
import { add, gelu, layerNorm } from '../../../src/tensor/fast/index.js';
import { allocF32, arenaInUse, heapPtr, setArenaMaxBytes, withArena } from '../../../src/tensor/fast/stage.js';
import { Rng } from '../../../src/tensor/rng.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { heap } from '../../../src/tensor/wasm/heap.js';

const shared = heap().shared;

function randn(shape: number[], seed: number): Tensor<'f32'> {
  const r = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor('f32', shape, Float32Array.from({ length: n }, () => r.normal()));
}

describe('arena (src/tensor/fast/stage.ts)', () => {
  it('op outputs live in the heap inside an arena; the result leaves as an ordinary array and every byte is released', () => {
    const x = randn([5, 7], 1);
    gelu(x); // its coefficient table is allocated once, for good
    const before = heap().stats().inUse;
    let inside = -2;
    const y = withArena(() => {
      const g = gelu(x);
      inside = heapPtr(g.f32);
      return add(g, x).f32;
    });
    expect(inside >= 0).toBe(shared);
    expect(heapPtr(y)).toBe(-1);
    expect(Array.from(y)).toEqual(Array.from(add(gelu(x), x).f32));
    expect(arenaInUse()).toBe(0);
    expect(heap().stats().inUse).toBe(before);
  });

  it('a nested arena hands its result to the enclosing one, which frees it at its end', () => {
    const before = heap().stats().inUse;
    const x = randn([3, 8], 2);
    const out = withArena(() => {
      const inner = withArena(() => gelu(x).f32);
      // still valid after the inner arena ended: it belongs to the outer one now
      expect(heapPtr(inner) >= 0).toBe(shared);
      const held = arenaInUse();
      const again = Array.from(inner);
      gelu(x); // more allocations must not overwrite it
      expect(Array.from(inner)).toEqual(again);
      expect(held).toBe(shared ? 3 * 8 * 4 : 0);
      return inner;
    });
    expect(Array.from(out)).toEqual(Array.from(gelu(x).f32));
    expect(arenaInUse()).toBe(0);
    expect(heap().stats().inUse).toBe(before);
  });

  it('releases everything when the body throws', () => {
    const before = heap().stats().inUse;
    expect(() =>
      withArena(() => {
        gelu(randn([4, 4], 3));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(arenaInUse()).toBe(0);
    expect(heap().stats().inUse).toBe(before);
  });

  it('past its budget an arena hands out ordinary arrays, and the ops still compute the same bits', () => {
    const prev = setArenaMaxBytes(64);
    try {
      const x = randn([6, 10], 4);
      const y = withArena(() => {
        const a = allocF32(8); // 32 bytes: within budget
        const b = allocF32(16); // 64 more: over
        expect(heapPtr(a) >= 0).toBe(shared);
        expect(heapPtr(b)).toBe(-1);
        return layerNorm(x, null, null, 1e-5).f32;
      });
      expect(Array.from(y)).toEqual(Array.from(layerNorm(x, null, null, 1e-5).f32));
    } finally {
      setArenaMaxBytes(prev);
    }
    expect(arenaInUse()).toBe(0);
  });

  it('a world-model rollout and encoding are bit-identical with and without arenas (fast-check over seeds)', () => {
    const cfg = compactConfig('tiny', { proprioDim: 2, numFrames: 2, imageSize: 32, patchSize: 8, dim: 16 });
    const stats = { proprioMean: new Float32Array(2), proprioStd: Float32Array.of(1, 1), actionMean: new Float32Array(2), actionStd: Float32Array.of(1, 1) };
    const m = new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(1)), stats);
    const noArena: Fns<Tensor<'f32'>> = { ...tensorFns, scope: (fn) => fn() };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), (seed, S, H) => {
        const r = new Rng(seed);
        const vis = randn([S, 1, m.P, m.Dv], seed);
        const prop = randn([S, 1, m.proprioSize], seed + 1);
        const act = new Tensor('f32', [S, H, m.actionDim], Float32Array.from({ length: S * H * m.actionDim }, () => r.normal()));
        const a = tensorFns.scope(() => m.rolloutF(tensorFns, vis, prop, act));
        const b = m.rolloutF(noArena, vis, prop, act);
        expect(heapPtr(a.f32)).toBe(-1);
        expect(Buffer.from(a.f32.buffer, a.f32.byteOffset, a.f32.byteLength).equals(Buffer.from(b.f32.buffer, b.f32.byteOffset, b.f32.byteLength))).toBe(true);
        expect(arenaInUse()).toBe(0);
      }),
      { numRuns: 8 },
    );
  });

  it('a Linear observer gets a copy it may keep, never arena memory', () => {
    const cfg = compactConfig('tiny', { proprioDim: 2, numFrames: 1, imageSize: 32, patchSize: 8, dim: 16 });
    const stats = { proprioMean: new Float32Array(2), proprioStd: Float32Array.of(1, 1), actionMean: new Float32Array(2), actionStd: Float32Array.of(1, 1) };
    const m = new WorldModel(cfg, initWeights(worldModelSpec(cfg), new Rng(1)), stats);
    const seen: Float32Array[] = [];
    const fc2 = m.predictor.blocks[0].mlp.fc2;
    fc2.observer = (x) => seen.push(x.f32);
    const vis = randn([3, 1, m.P, m.Dv], 9);
    const prop = randn([3, 1, m.proprioSize], 10);
    const act = randn([3, 2, m.actionDim], 11);
    tensorFns.scope(() => m.rolloutF(tensorFns, vis, prop, act));
    const kept = seen.map((s) => Array.from(s));
    expect(seen.every((s) => heapPtr(s) === -1)).toBe(true);
    tensorFns.scope(() => m.rolloutF(tensorFns, randn([3, 1, m.P, m.Dv], 12), prop, act)); // reuses the freed heap
    expect(seen.slice(0, kept.length).map((s) => Array.from(s))).toEqual(kept);
  });
});
