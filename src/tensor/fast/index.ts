/**
 * Fast twins of the reference ops a ViT forward spends its non-GEMM time in: each has the
 * signature and semantics of its ../ops twin and is either bit-exact with it or within a
 * stated bound (GELU: 1 float32 ulp). WASM SIMD kernels (run on the ../threads pool when it
 * has more than one thread, with results identical for any thread count) where they pay,
 * plain TypeScript where the op is a memory copy. Without WebAssembly SIMD128 every op falls
 * back to its reference (or TypeScript twin), so results never depend on the platform.
 *
 * See docs/performance.md, "Non-GEMM kernels", for measured speedups.
 */
export { gelu, geluTwin, geluScalarFast, upperTailFast } from './gelu.js';
export { layerNorm } from './layer-norm.js';
export { softmax } from './softmax.js';
export { GELU_SPEC } from './gelu-emit.js';
export { LAYER_NORM_SPEC } from './layer-norm-emit.js';
export { SOFTMAX_SPEC } from './softmax-emit.js';
export { attention, attentionRef, attentionQkv, attentionQkvRef } from './attention.js';
export type { AttentionOptions } from './attention.js';
export { ATTENTION_SPEC } from './attention-emit.js';
export { add, mul, scale } from './elementwise.js';
export { permute, slice, concat, splitHeads, mergeHeads } from './layout.js';
export { FAST_KERNELS } from './entries.js';
export { setFastValidate, checkTwin } from './validate.js';
