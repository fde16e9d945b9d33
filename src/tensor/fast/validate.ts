/**
 * QWM_VALIDATE=1 for the fast ops (STYLE 2, as the GEMM kernels do): after every kernel call,
 * run the op's twin and throw a KernelError naming the kernel and the first element whose
 * bits differ (NaN equals NaN: payloads are not part of the contract).
 */
import { envVar } from '../wasm/env.js';
import { KernelError } from '../wasm/compile.js';

let flag: boolean | null = null;

/** Force validation on/off (tests); null returns to QWM_VALIDATE. */
export function setFastValidate(v: boolean | null): void {
  flag = v;
}

export function validating(): boolean {
  if (flag === null) flag = envVar('QWM_VALIDATE') === '1';
  return flag;
}

/** Throw unless `got` equals `twin()` bit for bit (NaN == NaN). */
export function checkTwin(kernel: string, got: Float32Array, twin: () => Float32Array): void {
  const want = twin();
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const a = got[i];
    const b = want[i];
    if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) {
      throw new KernelError(kernel, `QWM_VALIDATE: element ${i} of ${got.length}: kernel ${a} != twin ${b}`);
    }
  }
}
