/**
 * One test per catalog entry (describe.each(KERNELS)): the emitted kernel equals its
 * TypeScript twin within the entry's named budget (0 = bit-exact), over shapes drawn around
 * the tile and the issue's awkward sizes, and 1 and 2 threads give bitwise identical results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KERNELS, kernelName } from '../../../src/tensor/wasm/catalog.js';
import type { KernelEntry, KernelOutput } from '../../../src/tensor/wasm/spec.js';
import { setMinParallelWork, setThreads, shutdownThreads } from '../../../src/tensor/threads/pool.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';
import { AWKWARD, dimAroundTile, relation } from './arb.js';

let prevMinWork = 0;
beforeAll(() => {
  expect(setThreads(2, nodeWorkers)).toBe(2);
  prevMinWork = setMinParallelWork(0); // thread every call, however small
});
afterAll(() => {
  setMinParallelWork(prevMinWork);
  shutdownThreads();
});

function describeDims(e: KernelEntry<any>, dims: Record<string, number>): string {
  return Object.entries(dims)
    .map(([k, v]) => relation(k, v, e.dims[k]))
    .join(', ');
}

/** First element where got differs from ref by more than the budget, or -1. */
function firstBad(e: KernelEntry<any>, input: unknown, ref: KernelOutput, got: KernelOutput): number {
  for (let i = 0; i < ref.length; i++) {
    const tol = e.tolerance(input, i);
    const ok = tol === 0 ? Object.is(ref[i], got[i]) : Math.abs(ref[i] - got[i]) <= tol;
    if (!ok) return i;
  }
  return -1;
}

function check(e: KernelEntry<any>, dims: Record<string, number>, seed: number): void {
  const input = e.make(dims, seed);
  const ref = e.ref(input);
  setThreads(1);
  const one = e.run(input);
  setThreads(2);
  const two = e.run(input);
  const ctx = `${kernelName(e.spec)} ${Object.entries(dims).map(([k, v]) => `${k}=${v}`).join(' ')} (${describeDims(e, dims)}) seed=${seed}`;
  expect(one.length, ctx).toBe(ref.length);
  const i = firstBad(e, input, ref, one);
  if (i >= 0) expect.fail(`${ctx}: index ${i}: reference ${ref[i]}, optimized ${one[i]}, budget ${e.tolerance(input, i)}`);
  for (let j = 0; j < one.length; j++) {
    if (!Object.is(one[j], two[j])) expect.fail(`${ctx}: threads 1 vs 2 differ at ${j}: ${one[j]} vs ${two[j]}`);
  }
}

describe.each(KERNELS.map((e) => [kernelName(e.spec), e] as const))('%s', (_name, e) => {
  const names = Object.keys(e.dims);

  it(`equals its twin (${e.budget}); dims around the tile; threads 1 == 2 bitwise`, () => {
    let runs = 0;
    const arbs: Record<string, fc.Arbitrary<number>> = {};
    for (const n of names) arbs[n] = dimAroundTile(e.dims[n]);
    fc.assert(
      fc.property(fc.record(arbs), fc.nat(), (dims, seed) => {
        runs++;
        check(e, dims, seed);
      }),
      { numRuns: 30 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  for (const n of names) {
    it(`awkward ${n} in {${AWKWARD.join(', ')}}, other dims = tile+1`, () => {
      let runs = 0;
      for (const v of AWKWARD) {
        const dims: Record<string, number> = {};
        for (const m of names) dims[m] = m === n ? v : e.dims[m] + 1;
        check(e, dims, 1000 + v);
        runs++;
      }
      expect(runs).toBe(AWKWARD.length);
    });
  }
});
