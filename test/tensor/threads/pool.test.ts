/**
 * The kernel thread pool: argument checks, single-thread fallback without a worker factory,
 * two threads really running at once (a rendezvous that one thread alone cannot complete),
 * every task run exactly once, traps reported without wedging the pool, shutdown, and a
 * process with live workers still exiting on its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModuleBuilder, atomic, i32 } from '../../../src/tensor/wasm/emit/index.js';
import { compileKernel } from '../../../src/tensor/wasm/compile.js';
import { heap } from '../../../src/tensor/wasm/heap.js';
import type { EmitContext, KernelSpec } from '../../../src/tensor/wasm/spec.js';
import { poolStats, runTasks, setMinParallelWork, setThreads, shutdownThreads, threadCount } from '../../../src/tensor/threads/pool.js';
import { ValueError } from '../../../src/tensor/errors.js';
import { nodeWorkers } from '../../../src/platform/workers-node.js';

const spec = (op: string): KernelSpec => ({ op, types: 'i32', tile: { t: 1 }, isa: 'simd128', overreadBytes: 0 });

/** rv(flag, out, role): role 1 sets *flag = 1 and notifies; role 0 waits (<= 20 s) for it and writes *flag to *out. */
const rendezvous = compileLater('test_rendezvous', (ctx) => {
  const m = new ModuleBuilder('rv');
  m.importMemory(ctx.memory);
  m.func('rv', { flag: 'i32', out: 'i32', role: 'i32' }, [], (f, p) => {
    f.if(p.role, () => {
      f.exec(atomic.i32_store(p.flag, 1));
      f.drop(atomic.notify(p.flag, 1));
    }, () => {
      f.drop(atomic.wait32(p.flag, 0, 20_000_000_000));
      f.exec(i32.store(p.out, atomic.i32_load(p.flag)));
    });
  }, 'rv');
  return m;
});

/** bump(slot, trap): atomically adds 1 to *slot; traps (unreachable) when trap != 0. */
const bump = compileLater('test_bump', (ctx) => {
  const m = new ModuleBuilder('bump');
  m.importMemory(ctx.memory);
  m.func('bump', { slot: 'i32', trap: 'i32' }, [], (f, p) => {
    f.if(p.trap, () => f.unreachable());
    f.drop(atomic.i32_rmw_add(p.slot, 1));
  }, 'bump');
  return m;
});

function compileLater(op: string, emit: (ctx: EmitContext) => ModuleBuilder) {
  return () => compileKernel(spec(op), (_s, ctx) => emit(ctx));
}

afterAll(() => shutdownThreads());

describe('thread pool', () => {
  it('rejects thread counts outside [1, 256] and non-integers', () => {
    for (const n of [0, -1, 1.5, 257, Number.NaN]) expect(() => setThreads(n)).toThrow(ValueError);
  });

  it('without a worker factory stays single-threaded (fallback), with one starts n threads', () => {
    expect(setThreads(2)).toBe(1);
    expect(threadCount()).toBe(1);
    expect(setThreads(2, nodeWorkers)).toBe(2);
    expect(threadCount()).toBe(2);
  });

  it('two threads run tasks concurrently: a rendezvous one thread alone cannot complete', () => {
    setThreads(2, nodeWorkers);
    const h = heap();
    const p = h.alloc(8);
    h.i32().fill(0, p >> 2, (p >> 2) + 2);
    runTasks(rendezvous(), 'rv', [
      [p, p + 4, 0],
      [p, p + 4, 1],
    ]);
    expect(h.i32()[(p >> 2) + 1]).toBe(1);
    expect(poolStats().tasksByWorkers).toBeGreaterThanOrEqual(1); // one of the two ran on a worker
    h.release(p);
  });

  it.each([2, 3])('with %i threads every one of 1000 tasks runs exactly once', (n) => {
    setThreads(n, nodeWorkers);
    const h = heap();
    const T = 1000;
    const p = h.alloc(T * 4);
    h.i32().fill(0, p >> 2, (p >> 2) + T);
    for (let rep = 0; rep < 5; rep++) runTasks(bump(), 'bump', Array.from({ length: T }, (_, t) => [p + 4 * t, 0]));
    const counts = h.i32().subarray(p >> 2, (p >> 2) + T);
    expect(counts.every((c) => c === 5)).toBe(true);
    const st = poolStats();
    expect(st.tasks).toBeGreaterThanOrEqual(5 * T);
    expect(st.tasksByWorkers).toBeLessThanOrEqual(st.tasks);
    h.release(p);
  });

  it('back-to-back jobs of random sizes on 2-3 threads: each task of each job runs exactly once (stale workers never claim)', () => {
    const h = heap();
    const SLOTS = 64;
    const p = h.alloc(SLOTS * 4);
    let runs = 0;
    fc.assert(
      fc.property(fc.constantFrom(2, 3), fc.array(fc.integer({ min: 1, max: SLOTS }), { minLength: 1, maxLength: 40 }), (n, jobs) => {
        runs++;
        setThreads(n, nodeWorkers);
        h.i32().fill(0, p >> 2, (p >> 2) + SLOTS);
        const want = new Int32Array(SLOTS);
        for (const nt of jobs) {
          runTasks(bump(), 'bump', Array.from({ length: nt }, (_, t) => [p + 4 * t, 0]));
          for (let t = 0; t < nt; t++) want[t]++;
        }
        const got = h.i32().subarray(p >> 2, (p >> 2) + SLOTS);
        return got.every((g, i) => g === want[i]);
      }),
      { numRuns: 40 },
    );
    expect(runs).toBe(40);
    h.release(p);
  });

  it('after the heap grows, workers see the new memory (task args and slots past the old end)', () => {
    setThreads(2, nodeWorkers);
    setMinParallelWork(0);
    const h = heap();
    const before = h.buffer.byteLength;
    const big = h.alloc(before); // forces growth
    expect(h.buffer.byteLength).toBeGreaterThan(before);
    const T = 200;
    const p = big + before - T * 4; // slots past the old end of memory
    h.i32().fill(0, p >> 2, (p >> 2) + T);
    runTasks(bump(), 'bump', Array.from({ length: T }, (_, t) => [p + 4 * t, 0]));
    expect(h.i32().subarray(p >> 2, (p >> 2) + T).every((c) => c === 1)).toBe(true);
    // a rendezvous at the new addresses needs the worker to read them
    h.i32().fill(0, p >> 2, (p >> 2) + 2);
    runTasks(rendezvous(), 'rv', [
      [p, p + 4, 0],
      [p, p + 4, 1],
    ]);
    expect(h.i32()[(p >> 2) + 1]).toBe(1);
    h.release(big);
  });

  it('a trap in any task is rethrown after the job; the pool keeps working', () => {
    setThreads(2, nodeWorkers);
    const h = heap();
    const p = h.alloc(64 * 4);
    const tasks = Array.from({ length: 64 }, (_, t) => [p + 4 * t, t % 7 === 3 ? 1 : 0]);
    expect(() => runTasks(bump(), 'bump', tasks)).toThrow(/unreachable/);
    h.i32().fill(0, p >> 2, (p >> 2) + 64);
    runTasks(bump(), 'bump', tasks.map(([s]) => [s, 0]));
    expect(h.i32().subarray(p >> 2, (p >> 2) + 64).every((c) => c === 1)).toBe(true);
    expect(() => runTasks(bump(), 'nope', tasks)).toThrow(/no export nope/);
    h.release(p);
  });

  it('setThreads(1) and shutdownThreads() fall back to the calling thread', () => {
    setThreads(2, nodeWorkers);
    expect(setThreads(1)).toBe(1);
    const h = heap();
    const p = h.alloc(16);
    h.i32().fill(0, p >> 2, (p >> 2) + 4);
    runTasks(bump(), 'bump', [[p, 0], [p + 4, 0]]);
    shutdownThreads();
    expect(threadCount()).toBe(1);
    runTasks(bump(), 'bump', [[p, 0], [p + 4, 0]]);
    expect(Array.from(h.i32().subarray(p >> 2, (p >> 2) + 2))).toEqual([2, 2]);
    h.release(p);
  });

  it('a process that leaves 2 threads running still exits by itself (workers are unref\'d)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwm-pool-'));
    const root = resolve(__dirname, '../../..');
    const script = join(dir, 'exit.ts');
    writeFileSync(
      script,
      `import { setThreads } from '${root}/src/tensor/threads/pool.ts';
import { nodeWorkers } from '${root}/src/platform/workers-node.ts';
import { gemmF32Wasm } from '${root}/src/tensor/wasm/f32/api.ts';
if (setThreads(2, nodeWorkers) !== 2) throw new Error('no threads');
const M = 64, N = 64, K = 64;
const C = new Float32Array(M * N);
gemmF32Wasm(M, N, K, new Float32Array(M * K).fill(1), new Float32Array(K * N).fill(2), false, C);
console.log('done', C[0]);
`,
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: root, timeout: 60_000, encoding: 'utf8' });
    expect(out.trim()).toBe('done 128');
  });

  it('QWM_THREADS=3 is honoured by setWorkerFactory; a bad value is a ValueError naming QWM_THREADS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwm-env-'));
    const root = resolve(__dirname, '../../..');
    const script = join(dir, 'env.ts');
    writeFileSync(
      script,
      `import { setWorkerFactory, threadCount, shutdownThreads } from '${root}/src/tensor/threads/pool.ts';
import { nodeWorkers } from '${root}/src/platform/workers-node.ts';
try { console.log('threads', setWorkerFactory(nodeWorkers), threadCount()); } catch (e) { console.log('error', String(e)); }
shutdownThreads();
`,
    );
    const run = (v: string) =>
      execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: root, timeout: 60_000, encoding: 'utf8', env: { ...process.env, QWM_THREADS: v } }).trim();
    expect(run('3')).toBe('threads 3 3');
    expect(run('two')).toMatch(/^error ValueError: QWM_THREADS: must be an integer/);
  });
});
