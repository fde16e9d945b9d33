/**
 * The int8 GEMM: y = dequant(A) · dequant(W)ᵀ (+ bias) on the SIMD128 kernel
 * `gemm_i8i8_f32__mr4_nr8_kc2__simd128_dot16`, bit-exact to `gemmI8Ref` (./ref.ts) for every
 * thread count. Falls back to the twin where WebAssembly SIMD is absent.
 *
 *   const wp = packI8({ data, N, K, scales, zeros: null });      // once, at load
 *   gemmI8(acts, wp, bias, out);                                   // per call
 *   gemmI8Dynamic / gemmI8Static(x, M, wp, q, bias, out)          // f32 x quantized inside the call
 *   wp.free();                                                     // when the layer dies (or GC)
 */
import { ShapeError, ValueError } from '../../errors.js';
import { compileKernel } from '../compile.js';
import type { KernelSpec } from '../spec.js';
import { heap } from '../heap.js';
import { runSplit, splitParts, type SplitCall } from './split.js';
import { compareWithTwin, intValidating } from './validate.js';
import { carve, pointers, useWasm } from './scratch.js';
export { carve, pointers, useWasm } from './scratch.js';
import { quantizeInHeap, quantizeScratchSizes, quantizeStaticInHeap, staticScratchSizes, type DynamicQuant, type StaticQuant } from './quantize.js';
import { kernelName } from '../spec.js';
import { GEMM_I8_SPEC, emitGemmI8, specPanelBytes } from './emit.js';
import { I8_MR, I8_NR, a16Bytes, packI8Host, unpackI8Host, type HostPackedI8, type I8PanelDims } from './layout.js';
import { checkActivations, checkBiasOut, gemmI8Ref, type Int8Weights, type QuantizedActivations } from './ref.js';

/** Packed int8 weights resident in the kernel heap (or on the host when SIMD is absent). */
export interface PackedI8 extends I8PanelDims {
  readonly kind: 'i8';
  /** The kernel these panels were packed for (its tile.wb fixes the panel layout). */
  readonly spec: KernelSpec;
  readonly symmetric: boolean;
  /** Heap pointers (0 when running on the TypeScript fallback). */
  readonly ptr: { readonly panels: number; readonly scales: number; readonly zeros: number };
  /** Host copy, kept only for the fallback path. */
  readonly host: HostPackedI8 | null;
  readonly freed: boolean;
  /** Free the heap copy (also done when the object is garbage-collected); later use throws. */
  free(): void;
}

const RELEASED = Object.freeze({ panels: 0, scales: 0, zeros: 0 });

let i8Spec: KernelSpec = GEMM_I8_SPEC;

/** Select the int8 kernel variant for later packI8 calls (benches, tests); returns the previous spec. */
export function setI8Spec(s: KernelSpec): KernelSpec {
  const prev = i8Spec;
  i8Spec = s;
  return prev;
}


/**
 * Pack (N, K) int8 weights once: panels + padded scales/zero points, copied into the heap.
 * `spec` (default: the current int8 kernel, int16 panels) fixes the panel layout; gemmI8 then
 * runs that kernel.
 */
export function packI8(w: Int8Weights, spec: KernelSpec = i8Spec): PackedI8 {
  const host = packI8Host(w, specPanelBytes(spec));
  const dims: I8PanelDims = { N: host.N, K: host.K, KP: host.KP, P: host.P, wb: host.wb };
  if (!useWasm()) {
    return { kind: 'i8', ...dims, spec, symmetric: w.zeros === null, ptr: RELEASED, host, freed: false, free() {} };
  }
  const h = heap();
  const ptr = { panels: h.put(new Uint8Array(host.panels.buffer, host.panels.byteOffset, host.panels.byteLength)), scales: h.put(host.scales), zeros: host.zeros ? h.put(host.zeros) : 0 };
  const ptrs = [ptr.panels, ptr.scales, ...(ptr.zeros ? [ptr.zeros] : [])];
  let live = true;
  const packed: PackedI8 = {
    kind: 'i8',
    ...dims,
    spec,
    symmetric: w.zeros === null,
    get ptr() {
      return live ? ptr : RELEASED;
    },
    host: null,
    get freed() {
      return !live;
    },
    free() {
      if (!live) return;
      live = false;
      registry?.unregister(packed);
      for (const q of ptrs) h.release(q);
    },
  };
  registry?.register(packed, ptrs, packed);
  return packed;
}

/** Frees the heap copies of packed weights that were dropped without free(). */
export const registry =
  typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry<number[]>((ptrs) => ptrs.forEach((q) => heap().release(q))) : null;

/** The (N, K) weights back from a packed record (tests, validation). */
export function unpackI8(p: PackedI8): Int8Weights {
  if (p.host) {
    return { data: unpackI8Host(p.host), N: p.N, K: p.K, scales: p.host.scales.slice(0, p.N), zeros: p.host.zeros ? p.host.zeros.slice(0, p.N) : null };
  }
  if (p.freed) throw new ValueError('unpackI8', 'packed weights were freed');
  const h = heap();
  const codes = p.P * p.KP * 16;
  const host: HostPackedI8 = {
    N: p.N, K: p.K, KP: p.KP, P: p.P, wb: p.wb,
    panels: p.wb === 1 ? new Int8Array(h.buffer, p.ptr.panels, codes).slice() : new Int16Array(h.buffer, p.ptr.panels, codes).slice(),
    scales: new Float32Array(h.buffer, p.ptr.scales, p.P * I8_NR).slice(),
    zeros: p.ptr.zeros ? new Int32Array(h.buffer, p.ptr.zeros, p.P * I8_NR).slice() : null,
    rowSums: new Int32Array(0),
  };
  return { data: unpackI8Host(host), N: p.N, K: p.K, scales: host.scales.slice(0, p.N), zeros: host.zeros ? host.zeros.slice(0, p.N) : null };
}

/** Per-row scale and zero-point arrays (M) from per-tensor or per-row activation params. */
export function expandRowParams(a: QuantizedActivations): { sA: Float32Array; zA: Int32Array } {
  const sA = new Float32Array(a.M);
  const zA = new Int32Array(a.M);
  if (a.scales.length === 1) sA.fill(a.scales[0]);
  else sA.set(a.scales);
  if (a.zeros !== null) {
    if (a.zeros.length === 1) zA.fill(a.zeros[0]);
    else zA.set(a.zeros);
  }
  return { sA, zA };
}

export interface GemmOptions {
  /**
   * Output-rectangle tasks to cut the call into (default: 1 single-threaded, 4 per thread
   * with a pool; threads are set globally with ../../threads setThreads). Any value gives the
   * same bits.
   */
  tasks?: number;
}

/**
 * Puts the activation codes (M, K) at `ptr.A` in the heap and returns their parameters.
 * `ptr` holds absolute pointers of the carve, including the stage's own sizes.
 */
export type StageActivations = (ptr: Record<string, number>) => { signed: boolean; sA: Float32Array; zA: Int32Array; acts: () => QuantizedActivations };

/** Stage pre-quantized activations: copy the codes into the heap. */
export function stageCodes(a: QuantizedActivations): StageActivations {
  return (ptr) => {
    heap().u8().set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.M * a.K), ptr.A);
    return { signed: a.data instanceof Int8Array, ...expandRowParams(a), acts: () => a };
  };
}

/** Byte offset of `a` in the kernel heap when it lives there (an arena view, read in place), else -1. */
export function heapOffset(a: ArrayBufferView): number {
  return heap().owns(a.buffer) ? a.byteOffset : -1;
}

/** x's heap pointer: in place when x lives in the heap, else its copy at `ptr.X` (made here). */
function stageX(x: Float32Array, ptr: Record<string, number>): number {
  const at = heapOffset(x);
  if (at >= 0) return at;
  new Float32Array(heap().buffer, ptr.X, x.length).set(x);
  return ptr.X;
}

/** Stage float rows quantized on the fly (quantizeInHeap): x copied once (or read in place), codes never leave the heap. */
export function stageDynamic(where: string, x: Float32Array, M: number, K: number, dyn: DynamicQuant, used: DynamicResult[]): StageActivations {
  return (ptr) => {
    const h = heap();
    const qp = quantizeInHeap(where, x, M, K, stageX(x, ptr), ptr.A, ptr, dyn);
    const one = qp.scale.length === 1;
    const sA = new Float32Array(M);
    const zA = new Int32Array(M);
    const badRows: number[] = [];
    // the kernels' range contract (ref.ts): zero points inside the code range, as checkActivations
    const [lo, hi] = dyn.unsigned ? [0, 255] : [-128, 127];
    for (let m = 0; m < M; m++) {
      const z = qp.zero[one ? 0 : m];
      sA[m] = qp.scale[one ? 0 : m];
      if (z < lo || z > hi) {
        if ((dyn.outOfRange ?? 'throw') === 'throw') {
          throw new ValueError(where, `zero point ${z} (row ${one ? 'all' : m}) is outside the code range [${lo}, ${hi}]; use outOfRange: 'report' and evaluate such rows exactly`);
        }
        badRows.push(m);
        zA[m] = 0; // placeholder: the caller recomputes these rows
      } else zA[m] = z;
    }
    used.push({ ...qp, badRows });
    const codesPtr = ptr.A;
    const acts = (): QuantizedActivations => ({
      data: dyn.unsigned ? new Uint8Array(h.buffer, codesPtr, M * K).slice() : new Int8Array(h.buffer, codesPtr, M * K).slice(),
      M, K, scales: sA, zeros: zA,
    });
    return { signed: !dyn.unsigned, sA, zA, acts };
  };
}

/** Stage float rows quantized on the fly with a fixed per-tensor (s, z) (quantizeStaticInHeap): x copied once (or read in place), codes never leave the heap. */
export function stageStatic(where: string, x: Float32Array, M: number, K: number, st: StaticQuant): StageActivations {
  return (ptr) => {
    const h = heap();
    quantizeStaticInHeap(where, x, M, K, stageX(x, ptr), ptr.A, ptr, st);
    const sA = new Float32Array(M).fill(st.scale);
    const zA = new Int32Array(M).fill(st.zero);
    const codesPtr = ptr.A;
    const acts = (): QuantizedActivations => ({
      data: st.unsigned ? new Uint8Array(h.buffer, codesPtr, M * K).slice() : new Int8Array(h.buffer, codesPtr, M * K).slice(),
      M, K, scales: Float32Array.of(st.scale), zeros: Int32Array.of(st.zero),
    });
    return { signed: !st.unsigned, sA, zA, acts };
  };
}

/** Heap sizes the static stage adds to a call's carve (no copy of x when it lives in the heap). */
export function staticStageSizes(x: Float32Array, M: number): Record<string, number> {
  return { X: heapOffset(x) >= 0 ? 0 : x.length * 4, ...staticScratchSizes(M) };
}

/** What a dynamic call quantized with: (scale, zero) of length 1 or M, and the rows it could not take. */
export interface DynamicResult {
  readonly scale: Float32Array;
  readonly zero: Float32Array;
  /** rows computed with a placeholder zero point (outOfRange: 'report'); empty otherwise */
  readonly badRows: readonly number[];
}

/** Heap sizes the dynamic stage adds to a call's carve (no copy of x when it lives in the heap). */
export function dynamicStageSizes(x: Float32Array, M: number): Record<string, number> {
  return { X: heapOffset(x) >= 0 ? 0 : x.length * 4, ...quantizeScratchSizes(M) };
}


/**
 * y = dequant(A) · dequant(W)ᵀ (+ bias), epilogue order of ./ref.ts.
 * @param a (M, K) quantized activations (int8 or uint8, per tensor or per row)
 * @param w packed (N, K) int8 weights from packI8
 * @param bias (N) or null
 * @param out (M, N) float32, overwritten; a view on the kernel heap (heap().f32() subarray of an
 *   allocation) is written in place, anything else receives a copy
 */
export function gemmI8(a: QuantizedActivations, w: PackedI8, bias: Float32Array | null, out: Float32Array, opts: GemmOptions = {}): void {
  const where = 'gemmI8';
  checkActivations(where, a);
  if (a.K !== w.K) throw new ShapeError(where, `A is (${a.M}, ${a.K}) but W is (${w.N}, ${w.K}): K differs`);
  checkBiasOut(where, a.M, w.N, bias, out);
  if (w.host) {
    gemmI8Ref(a, unpackI8(w), bias, out);
    return;
  }
  runGemmI8(where, w, a.M, a.K, {}, stageCodes(a), bias, out, opts);
}

/**
 * Dynamic W8A8 in one call: quantize x per the layer's rule inside the heap (row min/max,
 * `dyn.choose`, the code formula: exactly quantize() of src/quant/affine.ts), then gemmI8.
 * Equals `gemmI8({codes of quantize(x), scale, zero}, w, bias, out)` bit for bit (rows not in
 * `badRows`).
 * @param x (M, K) float32
 * @returns the (scale, zero) the activations were quantized with (length 1 or M) and badRows
 */
export function gemmI8Dynamic(
  x: Float32Array, M: number, w: PackedI8, dyn: DynamicQuant, bias: Float32Array | null, out: Float32Array, opts: GemmOptions = {},
): DynamicResult {
  const where = 'gemmI8Dynamic';
  if (!Number.isInteger(M) || M < 1) throw new ShapeError(where, `M must be a positive integer, got ${M}`);
  if (x.length !== M * w.K) throw new ShapeError(where, `x has length ${x.length}, expected M·K = ${M}·${w.K}`);
  checkBiasOut(where, M, w.N, bias, out);
  if (w.host) throw new ValueError(where, 'WebAssembly SIMD is unavailable: quantize with src/quant and call gemmI8');
  const used: DynamicResult[] = [];
  runGemmI8(where, w, M, w.K, dynamicStageSizes(x, M), stageDynamic(where, x, M, w.K, dyn, used), bias, out, opts);
  return used[0];
}

/**
 * Static W8A8 in one call: quantize x with the calibrated per-tensor (s, z) of `st` inside the
 * heap (the code formula only: exactly quantize() of src/quant/affine.ts with those parameters),
 * then gemmI8. Equals `gemmI8({codes of quantize(x), s, z}, w, bias, out)` bit for bit.
 * @param x (M, K) float32
 * @throws ValueError on NaN in x or a zero point outside the code range
 */
export function gemmI8Static(
  x: Float32Array, M: number, w: PackedI8, st: StaticQuant, bias: Float32Array | null, out: Float32Array, opts: GemmOptions = {},
): void {
  const where = 'gemmI8Static';
  if (!Number.isInteger(M) || M < 1) throw new ShapeError(where, `M must be a positive integer, got ${M}`);
  if (x.length !== M * w.K) throw new ShapeError(where, `x has length ${x.length}, expected M·K = ${M}·${w.K}`);
  checkBiasOut(where, M, w.N, bias, out);
  if (w.host) throw new ValueError(where, 'WebAssembly SIMD is unavailable: quantize with src/quant and call gemmI8');
  runGemmI8(where, w, M, w.K, staticStageSizes(x, M), stageStatic(where, x, M, w.K, st), bias, out, opts);
}

function runGemmI8(
  where: string, w: PackedI8, M: number, K: number, stageSizes: Record<string, number>, stage: StageActivations,
  bias: Float32Array | null, out: Float32Array, opts: GemmOptions,
): void {
  if (w.freed) throw new ValueError(where, 'packed weights were freed');
  const { N, KP, P } = w;
  const T = Math.ceil(M / I8_MR);
  // zW correction Σ(A − zA)·zW: only for int8 panels (int16 panels carry W − zW)
  const hasZW = !w.symmetric && w.wb === 1;
  // an `out` that is already a view on the kernel heap (an arena buffer) is written in place (no copy)
  const direct = heap().owns(out.buffer);
  const { off, total } = carve({
    ...stageSizes,
    A: M * K,
    zA: M * 4,
    sA: M * 4,
    rs: hasZW ? M * 4 : 0,
    A16: a16Bytes(M, KP),
    bias: bias ? P * I8_NR * 4 : 0,
    C: direct ? 0 : M * N * 4,
  });
  const h = heap();
  const base = h.alloc(total);
  const ptr = pointers(base, off);
  const cPtr = direct ? out.byteOffset : ptr.C;
  let acts: (() => QuantizedActivations) | null = null;
  try {
    const k = compileKernel(w.spec, emitGemmI8);
    const st = stage(ptr);
    acts = st.acts;
    new Float32Array(h.buffer, ptr.sA, M).set(st.sA);
    new Int32Array(h.buffer, ptr.zA, M).set(st.zA);
    if (bias) {
      const b = new Float32Array(h.buffer, ptr.bias, P * I8_NR);
      b.fill(0);
      b.set(bias);
    }
    const widen = k.exports.widen as (...x: number[]) => void;
    widen(ptr.A, M, K, ptr.zA, st.signed ? 1 : 0, K, 2 * KP, ptr.A16, KP, hasZW ? ptr.rs : 0);
    const args = [
      ptr.A16, KP, 0, T, w.ptr.panels, 0, P, cPtr, N * 4, M, N,
      ptr.sA, hasZW ? ptr.rs : 0, w.ptr.scales, w.ptr.zeros, bias ? ptr.bias : 0,
    ];
    // split: arg 2/3 = tiles [t0,t1), arg 5/6 = panels [p0,p1)
    const call: SplitCall = { kernel: k, fn: 'gemm', args, tiles: [2, 3, T], panels: [5, 6, P] };
    runSplit(call, splitParts(opts.tasks, M * N * K));
    if (!direct) out.set(new Float32Array(h.buffer, cPtr, M * N));
    if (intValidating()) {
      const twin = new Float32Array(M * N);
      gemmI8Ref(acts(), unpackI8(w), bias, twin);
      compareWithTwin(kernelName(w.spec), M, N, K, direct ? new Float32Array(h.buffer, cPtr, M * N) : out, twin);
    }
  } finally {
    h.release(base);
  }
}
