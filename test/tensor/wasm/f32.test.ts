/**
 * The f32 GEMM API and its installation behind the backend seam: packB/gemmPacked and
 * gemmF32Wasm argument checks, degenerate shapes, heap hygiene, and ops.matmul / ops.linear
 * giving the same bits on the wasm and reference backends (F32_GEMM_VS_REF = 0).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../../src/tensor/rng.js';
import { tensor } from '../../../src/tensor/tensor.js';
import { backend, referenceBackend, setBackend } from '../../../src/tensor/backend.js';
import { matmul, linear } from '../../../src/tensor/ops/index.js';
import { gemmPacked, packB, gemmF32Wasm, setValidate, validateAgainstTwin, gemmF32Kernel, packInHeap } from '../../../src/tensor/wasm/f32/api.js';
import { packBInto, packedFloats } from '../../../src/tensor/wasm/f32/pack.js';
import { KernelError } from '../../../src/tensor/wasm/compile.js';
import { gemmF32Twin } from '../../../src/tensor/wasm/f32/ref.js';
import { useBackend, autoInstallBackend, wasmBackend } from '../../../src/tensor/wasm/install.js';
import { heap } from '../../../src/tensor/wasm/heap.js';
import { ShapeError, ValueError } from '../../../src/tensor/errors.js';

const prev = backend();
afterEach(() => setBackend(prev));

function rand(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe('gemmPacked (the Linear path)', () => {
  it('equals the twin bit for bit with and without bias, and leaves the heap as it found it', () => {
    const rng = new Rng(7);
    const [M, N, K] = [37, 45, 130];
    const A = rand(rng, M * K);
    const W = rand(rng, N * K);
    const bias = rand(rng, N);
    const before = heap().stats().inUse;
    const p = packB(W, N, K, true);
    for (const b of [bias, null]) {
      const out = new Float32Array(M * N);
      gemmPacked(A, p, b, out);
      const ref = new Float32Array(M * N);
      gemmF32Twin(M, N, K, A, W, true, b, ref);
      expect(sameBits(out, ref)).toBe(true);
    }
    p.free();
    p.free(); // idempotent
    expect(heap().stats().inUse).toBe(before);
  });

  it('rejects wrong shapes and freed weights with typed errors naming the op', () => {
    const p = packB(new Float32Array(12), 3, 4, true);
    expect(() => gemmPacked(new Float32Array(7), p, null, new Float32Array(6))).toThrow(ShapeError);
    expect(() => gemmPacked(new Float32Array(8), p, null, new Float32Array(5))).toThrow(/gemmPacked.*\[2,3\]/);
    expect(() => gemmPacked(new Float32Array(8), p, new Float32Array(2), new Float32Array(6))).toThrow(/bias/);
    expect(() => packB(new Float32Array(11), 3, 4, true)).toThrow(ShapeError);
    expect(() => packB(new Float32Array(0), -1, 0, true)).toThrow(ValueError);
    p.free();
    expect(() => gemmPacked(new Float32Array(8), p, null, new Float32Array(6))).toThrow(/freed/);
  });

  it('K = 0 gives bias (or zeros); M = 0 and N = 0 are no-ops', () => {
    const p = packB(new Float32Array(0), 3, 0, true);
    const out = new Float32Array(6).fill(9);
    gemmPacked(new Float32Array(0), p, new Float32Array([1, 2, 3]), out);
    expect(Array.from(out)).toEqual([1, 2, 3, 1, 2, 3]);
    p.free();
    const C = new Float32Array(0);
    gemmF32Wasm(0, 5, 3, new Float32Array(0), new Float32Array(15), false, C);
    gemmF32Wasm(4, 0, 3, new Float32Array(12), new Float32Array(0), false, C);
    expect(C.length).toBe(0);
  });

  it('gemmF32Wasm accepts inputs that live in the heap itself (no copy) and gives the same bits', () => {
    const rng = new Rng(3);
    const [M, N, K] = [9, 17, 33];
    const h = heap();
    const pa = h.alloc(M * K * 4);
    const pc = h.alloc(M * N * 4);
    const A = rand(rng, M * K);
    const B = rand(rng, K * N);
    h.f32().set(A, pa >> 2);
    const Ah = new Float32Array(h.buffer, pa, M * K);
    const Ch = new Float32Array(h.buffer, pc, M * N);
    gemmF32Wasm(M, N, K, Ah, B, false, Ch);
    const ref = new Float32Array(M * N);
    gemmF32Twin(M, N, K, A, B, false, null, ref);
    expect(sameBits(new Float32Array(h.buffer, pc, M * N), ref)).toBe(true);
    h.release(pa);
    h.release(pc);
  });
});

describe('pack_b (SIMD panel packing) == pack.ts packBInto', () => {
  it('bit for bit, both orientations, N and K around the panel width and the 4-wide transpose', () => {
    let runs = 0;
    const dims = fc.constantFrom(1, 3, 4, 5, 7, 8, 9, 17, 40);
    fc.assert(
      fc.property(dims, dims, fc.boolean(), fc.nat(), (N, K, transB, seed) => {
        runs++;
        const W = rand(new Rng(seed), N * K);
        const nr = 8;
        const want = new Float32Array(packedFloats(N, K, nr)).fill(Number.NaN);
        packBInto(want, 0, W, N, K, transB, nr);
        const h = heap();
        const dst = h.alloc(want.length * 4);
        h.f32().fill(Number.NaN, dst >> 2, (dst >> 2) + want.length);
        packInHeap(dst, W, N, K, transB);
        const got = h.f32().slice(dst >> 2, (dst >> 2) + want.length);
        h.release(dst);
        return sameBits(got, want);
      }),
      { numRuns: 120 },
    );
    expect(runs).toBe(120);
  });
});

describe('backend seam', () => {
  it('ops.matmul and ops.linear give identical bits on the wasm and reference backends (F32_GEMM_VS_REF = 0)', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 70 }), fc.nat(), (M, N, K, seed) => {
        runs++;
        const rng = new Rng(seed);
        const x = tensor(rand(rng, 2 * M * K), [2, M, K]);
        const w = tensor(rand(rng, N * K), [N, K]);
        const b = tensor(rand(rng, N), [N]);
        const wT = tensor(rand(rng, K * N), [K, N]);
        useBackend('wasm');
        const y1 = linear(x, w, b).data as Float32Array;
        const z1 = matmul(x, wT).data as Float32Array;
        useBackend('ref');
        const y0 = linear(x, w, b).data as Float32Array;
        const z0 = matmul(x, wT).data as Float32Array;
        return sameBits(y1, y0) && sameBits(z1, z0);
      }),
      { numRuns: 40 },
    );
    expect(runs).toBe(40);
  });

  it('useBackend switches by name and rejects unknown names; the default is wasm here (SIMD128 present)', () => {
    expect(useBackend('ref')).toBe('ref');
    expect(backend()).toBe(referenceBackend());
    expect(useBackend('wasm')).toBe('wasm');
    expect(backend()).toBe(wasmBackend);
    expect(() => useBackend('fast' as 'wasm')).toThrow(ValueError);
    if (process.env.QWM_BACKEND === undefined) expect(autoInstallBackend()).toBe('wasm');
  });
});

describe('QWM_VALIDATE', () => {
  it('validated calls pass on correct output; the check throws KernelError naming kernel and index on one flipped bit', () => {
    setValidate(true);
    try {
      const rng = new Rng(11);
      const [M, N, K] = [6, 10, 12];
      const A = rand(rng, M * K);
      const W = rand(rng, N * K);
      const bias = rand(rng, N);
      const p = packB(W, N, K, true);
      const out = new Float32Array(M * N);
      gemmPacked(A, p, bias, out); // validated inside: no throw
      const k = gemmF32Kernel();
      expect(() => validateAgainstTwin(k, M, N, K, A, p.ptr, bias, out)).not.toThrow();
      const bad = out.slice();
      const u = new Uint32Array(bad.buffer);
      u[23] ^= 1; // one ulp at C[2,3]
      expect(() => validateAgainstTwin(k, M, N, K, A, p.ptr, bias, bad)).toThrow(KernelError);
      expect(() => validateAgainstTwin(k, M, N, K, A, p.ptr, bias, bad)).toThrow(/gemm_f32__.*C\[2,3\]/);
      p.free();
    } finally {
      setValidate(null);
    }
  });
});

describe('QWM_DEBUG', () => {
  it('2 logs the kernel name, size and spec on first compile; 3 adds the WAT-style listing', async () => {
    const { compileKernel } = await import('../../../src/tensor/wasm/compile.js');
    const { emitGemmF32 } = await import('../../../src/tensor/wasm/f32/gemm.js');
    const { GEMM_F32_SPEC } = await import('../../../src/tensor/wasm/f32/api.js');
    const lines: string[] = [];
    const orig = console.error;
    const prevEnv = process.env.QWM_DEBUG;
    console.error = (...a: unknown[]) => void lines.push(a.join(' '));
    try {
      process.env.QWM_DEBUG = '2';
      compileKernel({ ...GEMM_F32_SPEC, tile: { mr: 2, nr: 8, kc: 32, mc: 8, ku: 1 } }, emitGemmF32);
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(/^\[qwm\] kernel gemm_f32__mr2_nr8_kc32_mc8_ku1__simd128_packa \d+ B \{"op":"gemm"/);
      process.env.QWM_DEBUG = '3';
      compileKernel({ ...GEMM_F32_SPEC, tile: { mr: 2, nr: 8, kc: 64, mc: 8, ku: 1 } }, emitGemmF32);
      expect(lines.length).toBe(3);
      expect(lines[2]).toContain('(func $ukernel_2x8');
      expect(lines[2]).toContain('v128.load32_splat');
      expect(lines[2]).toContain('local.set $vacc1x4567');
    } finally {
      console.error = orig;
      if (prevEnv === undefined) delete process.env.QWM_DEBUG;
      else process.env.QWM_DEBUG = prevEnv;
    }
  });
});

describe('QWM_BACKEND', () => {
  it('importing the library installs wasm by default, ref with QWM_BACKEND=ref; an unknown value is a ValueError', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join, resolve } = await import('node:path');
    const root = resolve(__dirname, '../../..');
    const script = join(mkdtempSync(join(tmpdir(), 'qwm-backend-')), 'b.mts');
    writeFileSync(script, `try { const t = await import('${root}/src/tensor/index.ts'); console.log(t.backend().name); } catch (e) { console.log(String(e)); }\n`);
    const run = (v: string | undefined) => {
      const env = { ...process.env };
      delete env.QWM_BACKEND;
      if (v !== undefined) env.QWM_BACKEND = v;
      return execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: root, timeout: 60_000, encoding: 'utf8', env }).trim();
    };
    expect(run(undefined)).toBe('wasm-simd128');
    expect(run('ref')).toBe('ref');
    expect(run('gpu')).toMatch(/ValueError: QWM_BACKEND: unknown backend gpu/);
  });
});
