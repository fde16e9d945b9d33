/**
 * 4-bit weight GEMMs on SIMD128, bit-exact to their twins in ./ref.ts for every thread count:
 *
 *   const wp = packI4(int4Weights);             // once, at load (serves both kernels)
 *   gemmW4A16(M, x, wp, bias, out);             // f32 activations
 *   gemmW4A8(acts, wp, bias, out);              // int8/uint8 activations (e.g. per-token)
 *   gemmW4A8Dynamic / gemmW4A8Static(x, M, wp, q, bias, out)   // f32 x quantized inside the call
 *   wp.free();                                  // or left to GC
 *
 * Falls back to the twins where WebAssembly SIMD is absent.
 */
import { setNibble } from '../../dtype.js';
import { ShapeError, ValueError } from '../../errors.js';
import { compileKernel } from '../compile.js';
import type { KernelSpec } from '../spec.js';
import { heap } from '../heap.js';
import { a16Bytes } from '../int8/layout.js';
import { carve, dynamicStageSizes, heapOffset, pointers, registry, stageCodes, stageDynamic, stageStatic, staticStageSizes, useWasm, type DynamicResult, type GemmOptions, type StageActivations } from '../int8/gemm.js';
import type { DynamicQuant, StaticQuant } from '../int8/quantize.js';
import { checkActivations, checkBiasOut, type QuantizedActivations } from '../int8/ref.js';
import { runSplit, splitParts } from '../int8/split.js';
import { compareWithTwin, intValidating } from '../int8/validate.js';
import { kernelName } from '../spec.js';
import { GEMM_W4A16_SPEC, GEMM_W4A8_SPEC, emitGemmW4A16, emitGemmW4A8 } from './emit.js';
import { I4_NR, packI4Host, unpackI4Host, type I4PanelDims } from './layout.js';
import { checkInt4Weights, gemmW4A16Ref, gemmW4A8Ref, type Int4Weights } from './ref.js';

/** Packed 4-bit weights resident in the kernel heap (or on the host when SIMD is absent). */
export interface PackedI4 extends I4PanelDims {
  readonly kind: 'i4';
  readonly signed: boolean;
  /** Heap pointer of the panels (0 on the TypeScript fallback). */
  readonly ptr: number;
  /** Host copy of the panels, kept only for the fallback path. */
  readonly host: Uint8Array | null;
  readonly freed: boolean;
  /** Free the heap copy (also done when the object is garbage-collected); later use throws. */
  free(): void;
}

export function packI4(w: Int4Weights): PackedI4 {
  const { dims, bytes } = packI4Host(w);
  if (!useWasm()) return { kind: 'i4', ...dims, signed: w.signed, ptr: 0, host: bytes, freed: false, free() {} };
  const h = heap();
  const ptr = h.put(bytes);
  let live = true;
  const packed: PackedI4 = {
    kind: 'i4',
    ...dims,
    signed: w.signed,
    get ptr() {
      return live ? ptr : 0;
    },
    host: null,
    get freed() {
      return !live;
    },
    free() {
      if (!live) return;
      live = false;
      registry?.unregister(packed);
      h.release(ptr);
    },
  };
  registry?.register(packed, [ptr], packed);
  return packed;
}

function panelBytes(p: PackedI4): Uint8Array {
  if (p.host) return p.host;
  if (p.freed) throw new ValueError('unpackI4', 'packed weights were freed');
  return new Uint8Array(heap().buffer, p.ptr, p.P * p.nG * p.BG).slice();
}

/** The `Int4Weights` back from a packed record (tests, validation, fallback). */
export function unpackI4(p: PackedI4): Int4Weights {
  const bytes = panelBytes(p);
  const { wq, scales } = unpackI4Host(p, bytes);
  const { N, K, G, nG, BG } = p;
  const codes = new Uint8Array(Math.ceil((N * K) / 2));
  const zeros = p.signed ? null : new Uint8Array(N * nG);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < nG; g++) {
      const z = bytes[((n >> 3) * nG + g) * BG + 2 * (n & 7)];
      if (zeros) zeros[n * nG + g] = z;
      for (let k = g * G; k < Math.min(K, (g + 1) * G); k++) setNibble(codes, n * K + k, p.signed ? wq[n * K + k] : wq[n * K + k] + z);
    }
  }
  const w: Int4Weights = { N, K, groupSize: G, signed: p.signed, codes, scales, zeros };
  checkInt4Weights('unpackI4', w);
  return w;
}

let w4a8Spec: KernelSpec = GEMM_W4A8_SPEC;
let w4a16Spec: KernelSpec = GEMM_W4A16_SPEC;

/** Select the W4A16 kernel variant (benches, tests); returns the previous spec. */
export function setW4A16Spec(s: KernelSpec): KernelSpec {
  const prev = w4a16Spec;
  w4a16Spec = s;
  return prev;
}

/** Select the W4A8 kernel variant (benches, tests); returns the previous spec. */
export function setW4A8Spec(s: KernelSpec): KernelSpec {
  const prev = w4a8Spec;
  w4a8Spec = s;
  return prev;
}

function checkPacked(where: string, w: PackedI4): void {
  if (w.freed) throw new ValueError(where, 'packed weights were freed');
}

/**
 * W4A16: y = x · wᵀ (+ bias), k ascending in one float32 accumulator per output (./ref.ts).
 * @param x (M, K) float32
 * @param w packed (N, K) 4-bit weights
 * @param bias (N) or null
 * @param out (M, N) float32, overwritten (written in place when it is a view on the kernel heap)
 */
export function gemmW4A16(M: number, x: Float32Array, w: PackedI4, bias: Float32Array | null, out: Float32Array, opts: GemmOptions = {}): void {
  const where = 'gemmW4A16';
  checkPacked(where, w);
  const { N, K, P } = w;
  if (!Number.isInteger(M) || M < 1) throw new ShapeError(where, `M must be a positive integer, got ${M}`);
  if (x.length !== M * K) throw new ShapeError(where, `x has length ${x.length}, expected M·K = ${M}·${K}`);
  checkBiasOut(where, M, N, bias, out);
  if (w.host) {
    gemmW4A16Ref(M, x, unpackI4(w), bias, out);
    return;
  }
  const T = Math.ceil(M / 4);
  const parts = splitParts(opts.tasks, M * N * K);
  const scratchBytes = (w.nG * w.G + 4) * 32;
  // an `out` that is already a view on the kernel heap (an arena buffer) is written in place (no copy)
  const direct = heap().owns(out.buffer);
  // an x that lives in the heap (an arena view) is read in place
  const xAt = heapOffset(x);
  const { off, total } = carve({ X: xAt >= 0 ? 0 : M * K * 4, bias: bias ? P * I4_NR * 4 : 0, C: direct ? 0 : M * N * 4, scratch: scratchBytes * parts });
  const h = heap();
  const base = h.alloc(total);
  const cPtr = direct ? out.byteOffset : base + off.C;
  const xPtr = xAt >= 0 ? xAt : base + off.X;
  try {
    const k = compileKernel(w4a16Spec, emitGemmW4A16);
    if (xAt < 0) new Float32Array(h.buffer, xPtr, M * K).set(x);
    if (bias) {
      const b = new Float32Array(h.buffer, base + off.bias, P * I4_NR);
      b.fill(0);
      b.set(bias);
    }
    const args = [xPtr, K, 0, T, w.ptr, 0, P, cPtr, N * 4, M, N, bias ? base + off.bias : 0, w.nG, w.G, w.CH, base + off.scratch];
    runSplit({ kernel: k, fn: 'gemm', args, tiles: [2, 3, T], panels: [5, 6, P], scratch: { arg: 15, base: base + off.scratch, bytes: scratchBytes } }, parts);
    if (!direct) out.set(new Float32Array(h.buffer, cPtr, M * N));
  } finally {
    h.release(base);
  }
  if (intValidating()) {
    const twin = new Float32Array(M * N);
    gemmW4A16Ref(M, x, unpackI4(w), bias, twin);
    compareWithTwin(kernelName(w4a16Spec), M, N, K, out, twin);
  }
}

/**
 * W4A8: y = dequant(A) · wᵀ (+ bias): exact integer dots per group, groups accumulated in
 * float32 ascending, then ·sA[m] (./ref.ts).
 * @param a (M, K) quantized activations (int8 or uint8, per tensor or per row)
 * @param w packed (N, K) 4-bit weights
 * @param bias (N) or null
 * @param out (M, N) float32, overwritten (written in place when it is a view on the kernel heap)
 */
export function gemmW4A8(a: QuantizedActivations, w: PackedI4, bias: Float32Array | null, out: Float32Array, opts: GemmOptions = {}): void {
  const where = 'gemmW4A8';
  checkPacked(where, w);
  checkActivations(where, a);
  if (a.K !== w.K) throw new ShapeError(where, `A is (${a.M}, ${a.K}) but W is (${w.N}, ${w.K}): K differs`);
  checkBiasOut(where, a.M, w.N, bias, out);
  if (w.host) {
    gemmW4A8Ref(a, unpackI4(w), bias, out);
    return;
  }
  runW4A8(where, w, a.M, {}, stageCodes(a), bias, out, opts);
}

/**
 * Dynamic W4A8 in one call: quantize x inside the heap (row min/max, `dyn.choose`, the code
 * formula: exactly quantize() of src/quant/affine.ts), then gemmW4A8. Equals gemmW4A8 on the
 * codes of quantize(x) bit for bit (rows not in `badRows`).
 * @param x (M, K) float32
 * @returns the (scale, zero) the activations were quantized with (length 1 or M) and badRows
 */
export function gemmW4A8Dynamic(
  x: Float32Array, M: number, w: PackedI4, dyn: DynamicQuant, bias: Float32Array | null, out: Float32Array, opts: GemmOptions = {},
): DynamicResult {
  const where = 'gemmW4A8Dynamic';
  checkPacked(where, w);
  if (!Number.isInteger(M) || M < 1) throw new ShapeError(where, `M must be a positive integer, got ${M}`);
  if (x.length !== M * w.K) throw new ShapeError(where, `x has length ${x.length}, expected M·K = ${M}·${w.K}`);
  checkBiasOut(where, M, w.N, bias, out);
  if (w.host) throw new ValueError(where, 'WebAssembly SIMD is unavailable: quantize with src/quant and call gemmW4A8');
  const used: DynamicResult[] = [];
  runW4A8(where, w, M, dynamicStageSizes(x, M), stageDynamic(where, x, M, w.K, dyn, used), bias, out, opts);
  return used[0];
}

/**
 * Static W4A8 in one call: quantize x with the calibrated per-tensor (s, z) of `st` inside the
 * heap, then gemmW4A8. Equals gemmW4A8 on the codes of quantize(x) with (s, z) bit for bit.
 * @param x (M, K) float32
 * @throws ValueError on NaN in x or a zero point outside the code range
 */
export function gemmW4A8Static(
  x: Float32Array, M: number, w: PackedI4, st: StaticQuant, bias: Float32Array | null, out: Float32Array, opts: GemmOptions = {},
): void {
  const where = 'gemmW4A8Static';
  checkPacked(where, w);
  if (!Number.isInteger(M) || M < 1) throw new ShapeError(where, `M must be a positive integer, got ${M}`);
  if (x.length !== M * w.K) throw new ShapeError(where, `x has length ${x.length}, expected M·K = ${M}·${w.K}`);
  checkBiasOut(where, M, w.N, bias, out);
  if (w.host) throw new ValueError(where, 'WebAssembly SIMD is unavailable: quantize with src/quant and call gemmW4A8');
  runW4A8(where, w, M, staticStageSizes(x, M), stageStatic(where, x, M, w.K, st), bias, out, opts);
}

function runW4A8(
  where: string, w: PackedI4, M: number, stageSizes: Record<string, number>, stage: StageActivations,
  bias: Float32Array | null, out: Float32Array, opts: GemmOptions,
): void {
  if (w.freed) throw new ValueError(where, 'packed weights were freed');
  const { N, K, P, nG, Gp, CH } = w;
  const KP = (nG * Gp) / 2;
  const T = Math.ceil(M / 4);
  const parts = splitParts(opts.tasks, M * N * K);
  // an `out` that is already a view on the kernel heap (an arena buffer) is written in place (no copy)
  const direct = heap().owns(out.buffer);
  const { off, total } = carve({ ...stageSizes, A: M * K, zA: M * 4, sA: M * 4, A16: a16Bytes(M, KP), bias: bias ? P * I4_NR * 4 : 0, C: direct ? 0 : M * N * 4 });
  const h = heap();
  const base = h.alloc(total);
  const ptr = pointers(base, off);
  const cPtr = direct ? out.byteOffset : ptr.C;
  try {
    const k = compileKernel(w4a8Spec, emitGemmW4A8);
    const st = stage(ptr);
    new Float32Array(h.buffer, ptr.sA, M).set(st.sA);
    new Int32Array(h.buffer, ptr.zA, M).set(st.zA);
    if (bias) {
      const b = new Float32Array(h.buffer, ptr.bias, P * I4_NR);
      b.fill(0);
      b.set(bias);
    }
    const widen = k.exports.widen as (...x: number[]) => void;
    widen(ptr.A, M, K, ptr.zA, st.signed ? 1 : 0, w.G, Gp, ptr.A16, KP, 0);
    const args = [ptr.A16, KP, 0, T, w.ptr, 0, P, cPtr, N * 4, M, N, ptr.sA, bias ? ptr.bias : 0, nG, CH];
    runSplit({ kernel: k, fn: 'gemm', args, tiles: [2, 3, T], panels: [5, 6, P] }, parts);
    if (!direct) out.set(new Float32Array(h.buffer, cPtr, M * N));
    if (intValidating()) {
      const twin = new Float32Array(M * N);
      gemmW4A8Ref(st.acts(), unpackI4(w), bias, twin);
      compareWithTwin(kernelName(w4a8Spec), M, N, K, direct ? new Float32Array(h.buffer, cPtr, M * N) : out, twin);
    }
  } finally {
    h.release(base);
  }
}
