/**
 * Install the wasm kernels behind backend.ts's GEMM seam, so `ops.matmul`, `ops.linear` and
 * every layer built on them run the SIMD kernel without knowing it. Because the f32 kernel
 * is bit-identical to `gemmF32Ref` (same summation order), switching backends never changes
 * a result bit, only speed.
 *
 * Default: installed when this module is first imported (via src/tensor/index.ts) if
 * WebAssembly SIMD128 is available and QWM_BACKEND is not 'ref'. `useBackend('ref')` /
 * `useBackend('wasm')` switch at run time.
 */
import { ValueError } from '../errors.js';
import { gemmF32Ref, referenceBackend, setBackend } from '../backend.js';
import type { Backend, GemmF32 } from '../backend.js';
import { envVar } from './env.js';
import { gemmF32Wasm } from './f32/api.js';
import { hasSimd128 } from './probe.js';

/** Below this many multiply-adds the reference loop beats copy-in/pack/copy-out. */
export const WASM_MIN_MACS = 4096;

const gemmF32: GemmF32 = (M, N, K, A, B, transB, C) => {
  if (M * N * K < WASM_MIN_MACS) gemmF32Ref(M, N, K, A, B, transB, C);
  else gemmF32Wasm(M, N, K, A, B, transB, C);
};

export const wasmBackend: Backend = { name: 'wasm-simd128', gemmF32 };

/**
 * Select the GEMM backend: 'wasm' (needs WebAssembly SIMD128) or 'ref'. Returns the name
 * now in effect.
 */
export function useBackend(name: 'wasm' | 'ref'): string {
  if (name === 'ref') setBackend(referenceBackend());
  else if (name === 'wasm') {
    if (!hasSimd128()) throw new ValueError('useBackend', 'WebAssembly SIMD128 is not available here; use "ref"');
    setBackend(wasmBackend);
  } else throw new ValueError('useBackend', `unknown backend ${String(name)} (expected wasm | ref)`);
  return name;
}

/** The default choice: QWM_BACKEND=ref|wasm, else wasm when SIMD128 is available. */
export function autoInstallBackend(): string {
  const env = envVar('QWM_BACKEND');
  if (env === 'ref') return useBackend('ref');
  if (env === 'wasm') return useBackend('wasm');
  if (env !== undefined && env !== '') throw new ValueError('QWM_BACKEND', `unknown backend ${env} (expected wasm | ref)`);
  return hasSimd128() ? useBackend('wasm') : useBackend('ref');
}
