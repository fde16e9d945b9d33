/**
 * Environment switches read by the kernel layer, without importing any runtime module:
 * `process.env` (Node, Bun, Deno's node compat) or `Deno.env` when present, else unset
 * (browsers configure through the API instead).
 *
 * - QWM_BACKEND=ref|wasm  force the reference GEMM, or the wasm kernels (default: wasm when
 *                          WebAssembly SIMD is available)
 * - QWM_THREADS=n          worker threads for the kernels (default 1 until a worker factory
 *                          is installed, see ../threads)
 * - QWM_DEBUG=2|3          2: log each kernel's name and spec when compiled; 3: also its
 *                          WAT-style listing
 * - QWM_VALIDATE=1         re-run the TypeScript twin after every kernel call and throw on
 *                          the first differing bit (slow; for debugging a platform)
 */
interface EnvHost {
  process?: { env?: Record<string, string | undefined> };
  Deno?: { env?: { get(name: string): string | undefined } };
}

export function envVar(name: string): string | undefined {
  const g = globalThis as EnvHost;
  try {
    return g.process?.env?.[name] ?? g.Deno?.env?.get(name);
  } catch {
    return undefined; // Deno without --allow-env throws; treat as unset
  }
}

/** QWM_DEBUG as an integer (0 when unset or not a number). */
export function debugLevel(): number {
  const v = Number(envVar('QWM_DEBUG') ?? '0');
  return Number.isFinite(v) ? v : 0;
}
