/**
 * Fused attention (src/tensor/fast/attention.ts): bit-exact (budget 0) with the reference
 * composition scale -> matmul(q, kᵀ) -> scale -> masked softmax -> matmul(attn, v), for the
 * (B, H, N, dh) API and for the fused-qkv API (split heads / merge heads included).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attention, attentionQkv, attentionQkvRef, attentionRef } from '../../../src/tensor/fast/index.js';
import type { AttentionOptions } from '../../../src/tensor/fast/index.js';
import { DTypeError, ShapeError, ValueError } from '../../../src/tensor/errors.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { setThreads, shutdownThreads } from '../../../src/tensor/threads/pool.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';
import { aroundSimd, diffMessage, f32Value, noise } from './support.js';

beforeAll(() => {
  expect(setThreads(2, nodeWorkers)).toBe(2);
  setThreads(1);
});
afterAll(() => shutdownThreads());

function u8(shape: number[], bits: (i: number) => number): Tensor<'u8'> {
  const t = new Tensor('u8', shape);
  const d = t.data as Uint8Array;
  for (let i = 0; i < d.length; i++) d[i] = bits(i);
  return t;
}

/** DINO-WM's frame-causal mask: token i sees j iff floor(j / P) <= floor(i / P). */
function causal(N: number, P: number): Tensor<'u8'> {
  return u8([N, N], (k) => (Math.floor((k % N) / P) <= Math.floor(Math.floor(k / N) / P) ? 1 : 0));
}

function f32t(shape: number[], data: Float32Array): Tensor<'f32'> {
  return new Tensor('f32', shape, data);
}

function checkBoth(B: number, H: number, N: number, dh: number, opts: AttentionOptions, seed: number, amp = 2, vals?: readonly number[]): void {
  const n = B * H * N * dh;
  const pick = (s: number) => (vals ? Float32Array.from({ length: n }, (_, i) => vals[(i * 7 + s) % vals.length]) : noise(n, seed + s, amp));
  const q = f32t([B, H, N, dh], pick(1));
  const k = f32t([B, H, N, dh], pick(2));
  const v = f32t([B, H, N, dh], pick(3));
  const ctx = `B=${B} H=${H} N=${N} dh=${dh} scaleAt=${opts.scaleAt} mask=${opts.mask ? 'u8' : 'none'} seed=${seed}`;
  const got = attention(q, k, v, opts);
  const ref = attentionRef(q, k, v, opts);
  expect(got.shape).toEqual([B, H, N, dh]);
  let msg = diffMessage(`${ctx} (B,H,N,dh)`, ref.data as Float32Array, got.data as Float32Array);
  if (msg) expect.fail(msg);
  const qkv = f32t([B, N, 3 * H * dh], vals ? Float32Array.from({ length: 3 * n }, (_, i) => vals[(i * 5) % vals.length]) : noise(3 * n, seed + 4, amp));
  const got2 = attentionQkv(qkv, H, opts);
  expect(got2.shape).toEqual([B, N, H * dh]);
  msg = diffMessage(`${ctx} fused qkv`, attentionQkvRef(qkv, H, opts).data as Float32Array, got2.data as Float32Array);
  if (msg) expect.fail(msg);
}

describe('fused attention', () => {
  it('bit-exact (budget 0) vs the reference composition: N around the 4x8 tile, dh in {4, 8, 12, 32, 64}, scale at q or dots, no / random / frame-causal u8 masks', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2),
        fc.constantFrom(1, 3),
        aroundSimd(),
        fc.constantFrom(4, 8, 12, 32, 64),
        fc.constantFrom('q' as const, 'dots' as const),
        fc.constantFrom('none', 'random', 'causal'),
        fc.nat(),
        (B, H, N, dh, scaleAt, maskKind, seed) => {
          runs++;
          const mask = maskKind === 'none' ? null : maskKind === 'causal' ? causal(N, Math.max(1, N >> 2)) : u8([N, N], (i) => (noise(1, seed + i)[0] > -0.3 ? 1 : 0));
          checkBoth(B, H, N, dh, { scaleAt, mask }, seed);
        },
      ),
      { numRuns: 120 },
    );
    expect(runs).toBe(120);
  });

  it('bit-exact with ±80 logits, zeros, huge and tiny values, and a custom scale', () => {
    let runs = 0;
    fc.assert(
      fc.property(aroundSimd(), fc.array(f32Value(9), { minLength: 1, maxLength: 40 }), fc.constantFrom(0.125, 1, 3.5, 1 / Math.sqrt(12)), (N, vals, scale) => {
        runs++;
        checkBoth(1, 2, N, 12, { scaleAt: 'dots', scale, mask: causal(N, 2) }, 0, 2, vals);
        checkBoth(1, 2, N, 8, { scaleAt: 'q', scale }, 0, 2, vals);
      }),
      { numRuns: 60 },
    );
    expect(runs).toBe(60);
  });

  it('a key visible alone gives exactly its v row; a query that sees nothing gives zeros', () => {
    const N = 9;
    const dh = 8;
    // row i sees only key (2i) % N; row N-1 sees nothing
    const mask = u8([N, N], (k) => (Math.floor(k / N) < N - 1 && k % N === (2 * Math.floor(k / N)) % N ? 1 : 0));
    const q = f32t([1, 1, N, dh], noise(N * dh, 1, 30));
    const k = f32t([1, 1, N, dh], noise(N * dh, 2, 30));
    const v = f32t([1, 1, N, dh], noise(N * dh, 3, 5));
    const out = attention(q, k, v, { scaleAt: 'dots', mask }).data as Float32Array;
    const V = v.data as Float32Array;
    for (let i = 0; i < N; i++) {
      for (let d = 0; d < dh; d++) {
        const want = i < N - 1 ? V[((2 * i) % N) * dh + d] : 0;
        expect(Object.is(out[i * dh + d], want), `row ${i} col ${d}`).toBe(true);
      }
    }
  });

  it('model shapes: (300, 4, 16|48, 32) frame-causal, scale at dots; (1, 6, 257, 64) unmasked, scale at q', () => {
    checkBoth(300, 4, 16, 32, { scaleAt: 'dots', mask: causal(16, 16) }, 5);
    checkBoth(40, 4, 48, 32, { scaleAt: 'dots', mask: causal(48, 16) }, 6);
    checkBoth(1, 6, 257, 64, { scaleAt: 'q' }, 7);
  });

  it('dh % 4 != 0, f32 masks and per-batch masks take the reference path (same bits)', () => {
    checkBoth(2, 2, 5, 6, { scaleAt: 'dots', mask: causal(5, 2) }, 8);
    const addMask = f32t([5, 5], Float32Array.from({ length: 25 }, (_, i) => (i % 5 > Math.floor(i / 5) ? -Infinity : 0)));
    checkBoth(2, 2, 5, 8, { scaleAt: 'q', mask: addMask }, 9);
    checkBoth(2, 2, 5, 8, { scaleAt: 'q', mask: u8([2, 1, 5, 5], (i) => (i % 3 ? 1 : 0)) }, 10);
    checkBoth(2, 2, 5, 8, { scaleAt: 'dots', mask: causal(5, 1).reshape([1, 1, 5, 5]) }, 11);
  });

  it('rejects bad input: non-f32 (DTypeError), mismatched or non-4-D shapes and bad qkv widths (ShapeError), bad scaleAt / NaN scale / heads (ValueError)', () => {
    const q = new Tensor('f32', [1, 2, 3, 4]);
    expect(() => attention(new Tensor('i32', [1, 2, 3, 4]) as unknown as Tensor<'f32'>, q, q, { scaleAt: 'q' })).toThrow(DTypeError);
    expect(() => attention(q, new Tensor('f32', [1, 2, 4, 4]), q, { scaleAt: 'q' })).toThrow(ShapeError);
    expect(() => attention(new Tensor('f32', [2, 3, 4]), new Tensor('f32', [2, 3, 4]), new Tensor('f32', [2, 3, 4]), { scaleAt: 'q' })).toThrow(ShapeError);
    expect(() => attention(q, q, q, { scaleAt: 'x' as 'q' })).toThrow(ValueError);
    expect(() => attention(q, q, q, { scaleAt: 'q', scale: NaN })).toThrow(ValueError);
    expect(() => attentionQkv(new Tensor('f32', [1, 3, 20]), 3, { scaleAt: 'q' })).toThrow(ShapeError);
    expect(() => attentionQkv(new Tensor('f32', [1, 3, 24]), 0, { scaleAt: 'q' })).toThrow(ValueError);
    expect(() => attention(q, q, q, { scaleAt: 'q', mask: new Tensor('u8', [4, 4]) })).toThrow(ShapeError);
  });

  it('2 threads give the same bits as 1 thread ((300, 4, 16, 32), fused qkv, frame-causal)', () => {
    const qkv = f32t([300, 16, 384], noise(300 * 16 * 384, 12, 2));
    const opts: AttentionOptions = { scaleAt: 'dots', mask: causal(16, 4) };
    setThreads(1);
    const one = attentionQkv(qkv, 4, opts).data as Float32Array;
    setThreads(2);
    const two = attentionQkv(qkv, 4, opts).data as Float32Array;
    setThreads(1);
    const msg = diffMessage('threads 1 vs 2', one, two);
    if (msg) expect.fail(msg);
  });
});
