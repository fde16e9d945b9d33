/**
 * Emitted bytes per catalog entry, pinned by SHA-256 (crypto.subtle), with a fixed shared
 * memory import so the hash does not depend on the runtime. An emitter refactor either keeps
 * every hash ("bytes unchanged") or the commit says which kernels changed and why; update
 * with `npx vitest run test/tensor/wasm/snapshot.test.ts -u`.
 */
import { describe, expect, it } from 'vitest';
import { KERNELS, kernelName } from '../../../src/tensor/wasm/catalog.js';
import { emitKernelBytes } from '../../../src/tensor/wasm/compile.js';

const CTX = { memory: { module: 'env', name: 'memory', initial: 1, maximum: 65536, shared: true } };

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

describe.each(KERNELS.map((e) => [kernelName(e.spec), e] as const))('%s', (name, e) => {
  it('emitted bytes: SHA-256 snapshot; deterministic; valid', async () => {
    const a = emitKernelBytes(e.spec, e.emit, CTX).bytes;
    const b = emitKernelBytes(e.spec, e.emit, CTX).bytes;
    expect(await sha256(b)).toBe(await sha256(a));
    expect(WebAssembly.validate(a)).toBe(true);
    expect({ name, bytes: a.length, sha256: await sha256(a) }).toMatchSnapshot();
  });
});
