/**
 * WebAssembly kernels: public API. Importing this module installs the SIMD GEMM behind the
 * backend seam (see install.ts; QWM_BACKEND=ref opts out). The emitter itself is
 * ./emit/index.ts (imported by kernel families, not re-exported here).
 */
import { autoInstallBackend } from './install.js';

export { packB, gemmPacked, gemmF32Wasm, GEMM_F32_SPEC, setGemmF32Spec } from './f32/api.js';
export type { PackedF32 } from './f32/api.js';
export { gemmF32Twin } from './f32/ref.js';
export { useBackend, wasmBackend, autoInstallBackend, WASM_MIN_MACS } from './install.js';
export { hasSimd128, hasRelaxedSimd } from './probe.js';
export { heap, Heap, OVERREAD_BYTES } from './heap.js';
export { compileKernel, KernelError } from './compile.js';
export type { Kernel } from './compile.js';
export { KERNELS } from './catalog.js';
export { kernelName } from './spec.js';
export type { KernelSpec, KernelEntry } from './spec.js';

autoInstallBackend();
