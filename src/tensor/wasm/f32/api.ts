/**
 * The f32 GEMM API over the emitted kernel:
 *
 * - `packB(W, N, K, transB)`: pack weights once into heap panels -> PackedF32 handle.
 * - `gemmPacked(A, packed, bias, out)`: out(M,N) = A(M,K)·W^T/W (+ bias), the Linear path.
 * - `gemmF32Wasm(M, N, K, A, B, transB, C)`: the backend.ts GemmF32 seam (packs B per call).
 *
 * Work is split into output rectangles (row blocks of M, or column panels of N when M is
 * small) and run by ../../threads; every output element is computed by exactly one task in
 * the kernel's fixed order, so results are bitwise identical for any thread count and equal
 * to the twin (ref.ts).
 */
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import type { GemmF32 } from '../../backend.js';
import { KernelError, compileKernel } from '../compile.js';
import { envVar } from '../env.js';
import { gemmF32Twin } from './ref.js';
import type { Kernel } from '../compile.js';
import { heap } from '../heap.js';
import type { KernelSpec } from '../spec.js';
import { runTasks, threadsFor } from '../../threads/pool.js';
import { GEMM_F32_EXPORT, PACK_B_EXPORT, emitGemmF32, gemmScratchBytes, gemmTile } from './gemm.js';
import { packedFloats } from './pack.js';

/**
 * The default f32 GEMM kernel: 4x8 register tile over A packed per 64x384 block (variant
 * 'packa': one A pointer in the inner loop), k-blocks of 384, no k unrolling. Chosen by a
 * CPU-time sweep on the dev machine (docs/performance.md): 50-55 GFLOP/s on the model shapes
 * (row pointers instead of packed A: 44-47; ku2/ku4: 30-33, V8 allocates the unrolled body
 * worse; 5x8/6x8/4x16/8x4 tiles: 20-30, register spills: x64 has 16 xmm and V8 keeps one
 * as scratch).
 */
export const GEMM_F32_SPEC: KernelSpec = {
  op: 'gemm',
  types: 'f32',
  tile: { mr: 4, nr: 8, kc: 384, mc: 64, ku: 1 },
  isa: 'simd128',
  variant: 'packa',
  overreadBytes: 0,
};

let spec: KernelSpec = GEMM_F32_SPEC;

/** Select the f32 GEMM kernel variant (benches, tests). Returns the previous spec. */
export function setGemmF32Spec(s: KernelSpec): KernelSpec {
  gemmTile(s);
  const prev = spec;
  spec = s;
  return prev;
}

/** The compiled kernel of the current spec. */
export function gemmF32Kernel(): Kernel {
  return compileKernel(spec, emitGemmF32);
}

/** Weights packed into heap panels; free() releases the heap memory (also done on GC). */
export interface PackedF32 {
  readonly N: number;
  readonly K: number;
  /** Panel width of the kernel this was packed for. */
  readonly nr: number;
  /** Heap byte offset of the panels. */
  readonly ptr: number;
  readonly freed: boolean;
  free(): void;
}

const registry = typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry<number>((ptr) => heap().release(ptr)) : null;

class PackedF32Impl implements PackedF32 {
  freed = false;
  constructor(
    readonly N: number,
    readonly K: number,
    readonly nr: number,
    readonly ptr: number,
  ) {
    registry?.register(this, ptr, this);
  }
  free(): void {
    if (this.freed) return;
    this.freed = true;
    registry?.unregister(this);
    heap().release(this.ptr);
  }
}

function checkDims(op: string, dims: Record<string, number>): void {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 0) throw new ValueError(op, `${k} must be an integer >= 0, got ${v}`);
  }
}

/**
 * Pack weights once for gemmPacked.
 * @param W (N, K) when transB (nn.Linear weight: out x in), else (K, N)
 */
export function packB(W: Float32Array, N: number, K: number, transB: boolean): PackedF32 {
  checkDims('packB', { N, K });
  if (W.length !== N * K) throw new ShapeError('packB', `W has ${W.length} elements, expected ${transB ? fmtShape([N, K]) : fmtShape([K, N])}`);
  const nr = gemmTile(spec).nr;
  const ptr = heap().alloc(packedFloats(N, K, nr) * 4);
  packInHeap(ptr, W, N, K, transB);
  return new PackedF32Impl(N, K, nr, ptr);
}

/**
 * out = A · op(W) (+ bias) with W packed by packB.
 * @param A (M, K) row-major, M = A.length / K
 * @param bias (N) or null/undefined
 * @param out (M, N), overwritten
 */
export function gemmPacked(A: Float32Array, packed: PackedF32, bias: Float32Array | null | undefined, out: Float32Array): void {
  const { N, K } = packed;
  if (packed.freed) throw new ValueError('gemmPacked', 'packed weights were freed');
  if (packed.nr !== gemmTile(spec).nr) throw new ValueError('gemmPacked', `weights packed for nr=${packed.nr}, kernel has nr=${gemmTile(spec).nr}`);
  if (K === 0 ? A.length !== 0 : A.length % K !== 0) throw new ShapeError('gemmPacked', `A has ${A.length} elements, not a multiple of K=${K} (W is ${fmtShape([N, K])})`);
  const M = K === 0 ? out.length / Math.max(N, 1) : A.length / K;
  if (out.length !== M * N) throw new ShapeError('gemmPacked', `out has ${out.length} elements, expected ${fmtShape([M, N])} for A ${fmtShape([M, K])}`);
  if (bias && bias.length !== N) throw new ShapeError('gemmPacked', `bias has ${bias.length} elements, expected [${N}]`);
  run(M, N, K, A, packed.ptr, bias ?? null, out);
}

/** backend.ts GemmF32 seam: C(M,N) = A(M,K) · op(B); B packed per call. */
export const gemmF32Wasm: GemmF32 = (M, N, K, A, B, transB, C) => {
  checkDims('gemmF32', { M, N, K });
  if (A.length < M * K || B.length < N * K || C.length < M * N) {
    throw new ShapeError('gemmF32', `A ${A.length}, B ${B.length}, C ${C.length} elements too small for M=${M} N=${N} K=${K}`);
  }
  const nr = gemmTile(spec).nr;
  const h = heap();
  const pb = h.alloc(packedFloats(N, K, nr) * 4);
  try {
    packInHeap(pb, B.length === N * K ? B : B.subarray(0, N * K), N, K, transB);
    run(M, N, K, A.length === M * K ? A : A.subarray(0, M * K), pb, null, C.length === M * N ? C : C.subarray(0, M * N));
  } finally {
    h.release(pb);
  }
};

/**
 * Pack B into panels at heap offset `dst` with the kernel's pack_b (SIMD transposes); B is
 * copied into the heap first unless it already lives there. Equals pack.ts packBInto (the
 * twin) bit for bit.
 */
export function packInHeap(dst: number, B: Float32Array, N: number, K: number, transB: boolean): void {
  if (N === 0 || K === 0) return;
  const k = gemmF32Kernel();
  const h = heap();
  const inHeap = h.owns(B.buffer);
  const ps = inHeap ? B.byteOffset : h.alloc(N * K * 4);
  try {
    if (!inHeap) h.write(B, ps);
    (k.exports[PACK_B_EXPORT] as (s: number, n: number, kk: number, t: number, d: number) => void)(ps, N, K, transB ? 1 : 0, dst);
  } finally {
    if (!inHeap) h.release(ps);
  }
}

/** Copy A, bias in; run the tasks; copy C out. */
function run(M: number, N: number, K: number, A: Float32Array, pb: number, bias: Float32Array | null, C: Float32Array): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[i * N + j] = bias ? bias[j] : 0;
    return;
  }
  const k = gemmF32Kernel();
  const { mr, nr } = gemmTile(k.spec);
  const h = heap();
  const tasks = splitOutput(M, N, mr, nr, threadsFor(M * N * K));
  const tileBytes = Math.ceil(gemmScratchBytes(k.spec) / 64) * 64;
  const sharedA = h.owns(A.buffer);
  const sharedC = h.owns(C.buffer);
  const pa = sharedA ? A.byteOffset : h.alloc(M * K * 4);
  const pc = sharedC ? C.byteOffset : h.alloc(M * N * 4);
  const pbias = bias ? h.alloc(Math.ceil(N / nr) * nr * 4) : 0;
  const ptmp = h.alloc(tasks.length * tileBytes);
  try {
    const f = h.f32();
    if (!sharedA) h.write(A, pa);
    if (bias) {
      h.write(bias, pbias);
      f.fill(0, (pbias >> 2) + N, (pbias >> 2) + Math.ceil(N / nr) * nr);
    }
    runTasks(
      k,
      GEMM_F32_EXPORT,
      tasks.map(([m0, m1, n0, n1], t) => [pa, K, pb, K, pc, N, pbias, m0, m1, n0, n1, ptmp + t * tileBytes]),
    );
    if (!sharedC) h.read(pc, C);
    if (validating()) validateAgainstTwin(k, M, N, K, A, pb, bias, C);
  } finally {
    h.release(ptmp);
    if (pbias) h.release(pbias);
    if (!sharedC) h.release(pc);
    if (!sharedA) h.release(pa);
  }
}

let validateFlag: boolean | null = null;

/** QWM_VALIDATE=1 (or setValidate(true)): re-run the twin after every call and compare bits. */
export function setValidate(on: boolean | null): void {
  validateFlag = on;
}

function validating(): boolean {
  if (validateFlag === null) validateFlag = envVar('QWM_VALIDATE') === '1';
  return validateFlag;
}

/**
 * Unpack B from its panels at heap offset `pb`, run the twin, throw KernelError at the first
 * element of C whose bits differ. Used by QWM_VALIDATE; exported for tests.
 */
export function validateAgainstTwin(k: Kernel, M: number, N: number, K: number, A: Float32Array, pb: number, bias: Float32Array | null, C: Float32Array): void {
  const nr = gemmTile(k.spec).nr;
  const f = heap().f32();
  const B = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    const base = (pb >> 2) + Math.floor(n / nr) * K * nr + (n % nr);
    for (let kk = 0; kk < K; kk++) B[kk * N + n] = f[base + kk * nr];
  }
  const R = new Float32Array(M * N);
  gemmF32Twin(M, N, K, A, B, false, bias, R);
  for (let i = 0; i < R.length; i++) {
    if (!Object.is(R[i], C[i])) {
      throw new KernelError(k.name, `QWM_VALIDATE: C[${Math.floor(i / N)},${i % N}] (M=${M} N=${N} K=${K}) kernel ${C[i]} != twin ${R[i]}`);
    }
  }
}

/**
 * Output rectangles [m0, m1, n0, n1] for `threads` threads: one task when threads = 1;
 * else about 8 tasks per thread (dynamic claiming balances a busy core, and the caller waits at most about one small task for the other thread at the end), split by rows in
 * multiples of mr, or by column panels of nr when M has too few row tiles.
 */
export function splitOutput(M: number, N: number, mr: number, nr: number, threads: number): number[][] {
  if (threads <= 1) return [[0, M, 0, N]];
  const want = threads * 8;
  const rowTiles = Math.ceil(M / mr);
  const colTiles = Math.ceil(N / nr);
  const out: number[][] = [];
  if (rowTiles >= want || rowTiles >= colTiles) {
    const per = Math.ceil(rowTiles / Math.min(want, rowTiles));
    for (let t = 0; t < rowTiles; t += per) out.push([t * mr, Math.min(M, (t + per) * mr), 0, N]);
  } else {
    const per = Math.ceil(colTiles / Math.min(want, colTiles));
    for (let t = 0; t < colTiles; t += per) out.push([0, M, t * nr, Math.min(N, (t + per) * nr)]);
  }
  return out;
}
