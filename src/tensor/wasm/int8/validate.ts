/**
 * QWM_VALIDATE=1 for the integer kernels (STYLE 2; the f32 GEMM has the same switch): after
 * every call, re-run the TypeScript twin on the unpacked weights and throw KernelError at the
 * first output whose float32 bits differ. Slow (the twin is scalar TypeScript): for debugging
 * a platform, never for production.
 */
import { KernelError } from '../compile.js';
import { envVar } from '../env.js';

let flag: boolean | null = null;

/** Force validation on/off (tests); null returns to QWM_VALIDATE. */
export function setIntValidate(on: boolean | null): void {
  flag = on;
}

export function intValidating(): boolean {
  if (flag === null) flag = envVar('QWM_VALIDATE') === '1';
  return flag;
}

/** Throw at the first (m, n) whose bits differ between the kernel output and the twin's. */
export function compareWithTwin(name: string, M: number, N: number, K: number, got: Float32Array, twin: Float32Array): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const t = new Uint32Array(twin.buffer, twin.byteOffset, twin.length);
  for (let i = 0; i < t.length; i++) {
    if (g[i] !== t[i]) {
      throw new KernelError(name, `QWM_VALIDATE: out[${Math.floor(i / N)},${i % N}] (M=${M} N=${N} K=${K}) kernel ${got[i]} != twin ${twin[i]}`);
    }
  }
}
