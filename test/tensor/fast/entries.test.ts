/**
 * FAST_KERNELS (src/tensor/fast/entries.ts) satisfy the catalog contract before anyone
 * registers them in src/tensor/wasm/catalog.ts: for dims drawn around each entry's tile,
 * run(make(dims)) equals ref(make(dims)) within the entry's budget (all 0: bit-exact), and
 * the emitted bytes validate and are deterministic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAST_KERNELS, checkTwin, setFastValidate } from '../../../src/tensor/fast/index.js';
import { KernelError } from '../../../src/tensor/wasm/compile.js';
import { emitKernelBytes } from '../../../src/tensor/wasm/compile.js';
import { kernelName } from '../../../src/tensor/wasm/spec.js';
import { dimAroundTile } from '../wasm/arb.js';
import { diffMessage } from './support.js';

describe.each(FAST_KERNELS.map((e) => [kernelName(e.spec), e] as const))('%s', (name, e) => {
  it(`run equals ref (${e.budget}) for dims around the tile; bytes validate and are deterministic`, () => {
    let runs = 0;
    const arbs: Record<string, fc.Arbitrary<number>> = {};
    for (const [k, t] of Object.entries(e.dims)) arbs[k] = dimAroundTile(t);
    fc.assert(
      fc.property(fc.record(arbs), fc.nat(), (dims, seed) => {
        runs++;
        const input = e.make(dims, seed);
        const msg = diffMessage(`${name} ${JSON.stringify(dims)} seed=${seed}`, e.ref(input) as Float32Array, e.run(input) as Float32Array);
        if (msg) expect.fail(msg);
      }),
      { numRuns: 40 },
    );
    expect(runs).toBe(40);
    const a = emitKernelBytes(e.spec, e.emit).bytes;
    expect(WebAssembly.validate(a)).toBe(true);
    expect(emitKernelBytes(e.spec, e.emit).bytes).toEqual(a);
    expect(e.spec.overreadBytes).toBeLessThanOrEqual(16);
  });
});

describe('QWM_VALIDATE for the fast ops', () => {
  it('with validation on, every kernel op runs its twin and passes; a differing twin throws KernelError naming the kernel', () => {
    setFastValidate(true);
    try {
      for (const e of FAST_KERNELS) {
        const input = e.make(e.dims, 3);
        e.run(input); // would throw on any bit difference
      }
    } finally {
      setFastValidate(null);
    }
    const got = Float32Array.of(1, 2, NaN);
    expect(() => checkTwin('k', got, () => Float32Array.of(1, 2, NaN))).not.toThrow();
    expect(() => checkTwin('gelu_x', got, () => Float32Array.of(1, -2, NaN))).toThrow(KernelError);
    expect(() => checkTwin('gelu_x', Float32Array.of(0), () => Float32Array.of(-0))).toThrow(/gelu_x.*element 0/);
  });
});
