/**
 * WebAssembly kernels: public API. Importing this module installs the SIMD GEMM behind the
 * backend seam (see install.ts; QWM_BACKEND=ref opts out). The emitter itself is
 * ./emit/index.ts (imported by kernel families, not re-exported here).
 */
import { autoInstallBackend } from './install.js';

export { packB, gemmPacked, gemmF32Wasm, GEMM_F32_SPEC, setGemmF32Spec, setValidate } from './f32/api.js';
export type { PackedF32 } from './f32/api.js';
export { gemmF32Twin } from './f32/ref.js';
export { useBackend, wasmBackend, autoInstallBackend, WASM_MIN_MACS } from './install.js';
export { hasSimd128, hasRelaxedSimd } from './probe.js';
export { heap, Heap, OVERREAD_BYTES } from './heap.js';
export { compileKernel, KernelError } from './compile.js';
export type { Kernel } from './compile.js';
export { KERNELS } from './catalog.js';
export { packI8, gemmI8, gemmI8Dynamic, unpackI8, setI8Spec } from './int8/gemm.js';
export type { PackedI8, GemmOptions, DynamicResult } from './int8/gemm.js';
export { gemmI8Ref, integerPartI8Ref, MAX_K_I8 } from './int8/ref.js';
export type { QuantizedActivations, Int8Weights } from './int8/ref.js';
export { quantizeRowsI8, rowMinMax } from './int8/quantize.js';
export type { CodeFormula, DynamicQuant } from './int8/quantize.js';
export { packI4, unpackI4, gemmW4A16, gemmW4A8, gemmW4A8Dynamic, setW4A8Spec, setW4A16Spec } from './int4/gemm.js';
export type { PackedI4 } from './int4/gemm.js';
export { gemmW4A16Ref, gemmW4A8Ref, dequantizeInt4Ref, groupCount } from './int4/ref.js';
export type { Int4Weights } from './int4/ref.js';
export { kernelName } from './spec.js';
export type { KernelSpec, KernelEntry } from './spec.js';

autoInstallBackend();
