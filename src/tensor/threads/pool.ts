/**
 * The kernel thread pool: N-1 workers plus the calling thread share the heap's
 * WebAssembly.Memory and run the tasks of one kernel call. `runTasks` is synchronous: the
 * main thread publishes the job, claims tasks like any worker, then waits for the last one
 * (Atomics.wait where the agent may block, e.g. Node's main thread; else it spins on
 * Atomics.load, as browsers' main threads must).
 *
 * Determinism: a task is an output rectangle; the kernel computes each of its elements in a
 * fixed order, so which thread runs which task (claimed dynamically, which balances a busy
 * core) never changes a bit of the result.
 *
 * Single-threaded fallback: without a worker factory, or without SharedArrayBuffer (the heap
 * is then not shared), everything runs on the calling thread.
 */
import { QuantwmError, ValueError } from '../errors.js';
import type { Kernel } from '../wasm/compile.js';
import { envVar } from '../wasm/env.js';
import { heap } from '../wasm/heap.js';
import { CTRL, CTRL_WORDS, ERRMSG_BYTES, MAX_TASKS } from './control.js';
import type { WorkerFactory, WorkerHandle } from './types.js';
import { WORKER_SOURCE } from './worker-source.js';

/** A task failed in a kernel (trap) on some thread. */
export class ThreadError extends QuantwmError {
  constructor(where: string, message: string) {
    super('E_THREAD', where, message);
  }
}

interface Pool {
  readonly workers: WorkerHandle[];
  readonly ctrl: number; // byte offset of the control block
  readonly errmsg: number;
  readonly kernelBytes: Map<number, { ptr: number; len: number }>;
  /** Threads used per call, including the caller (<= workers.length + 1). */
  active: number;
  seq: number;
  jobs: number;
  tasks: number;
}

let pool: Pool | null = null;
let factory: WorkerFactory | null = null;
let requested: number | null = null;
let canBlock: boolean | null = null;

/**
 * Use `n` threads (the caller + n-1 workers) for kernel calls; `factory` (optional) installs
 * the worker factory first. Returns the count in effect: 1 without a factory or without
 * shared memory. Lowering n keeps the extra workers asleep (cheap to raise again);
 * shutdownThreads() ends them. QWM_THREADS sets the initial request.
 */
export function setThreads(n: number, f?: WorkerFactory): number {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new ValueError('setThreads', `n must be an integer in [1, 256], got ${n}`);
  if (f !== undefined && f !== factory) {
    shutdownPool();
    factory = f;
  }
  requested = n;
  if (n === 1) {
    if (pool) pool.active = 1;
    return 1;
  }
  if (!factory || !heap().shared) return 1;
  const h = heap();
  if (!pool) {
    const ctrl = h.alloc(CTRL_WORDS * 4);
    const errmsg = h.alloc(ERRMSG_BYTES);
    h.i32().fill(0, ctrl >> 2, (ctrl >> 2) + CTRL_WORDS);
    h.i32()[(ctrl >> 2) + CTRL.ERRMSG] = errmsg;
    pool = { workers: [], ctrl, errmsg, kernelBytes: new Map(), active: 1, seq: 0, jobs: 0, tasks: 0 };
  }
  while (pool.workers.length < n - 1) {
    const w = factory.spawn(WORKER_SOURCE, { memory: h.memory, ctrl: pool.ctrl });
    w.unref();
    pool.workers.push(w);
  }
  pool.active = n;
  return n;
}

/**
 * Install the runtime's worker factory (src/platform/workers-*.ts) and start the thread count
 * requested so far (QWM_THREADS, default 1). Returns the count in effect. The CLI calls this
 * once at start-up: `setWorkerFactory(nodeWorkers)`.
 */
export function setWorkerFactory(f: WorkerFactory | null): number {
  if (f !== factory) {
    shutdownPool();
    factory = f;
  }
  const n = requested ?? envThreads();
  requested = n;
  return n > 1 && factory ? setThreads(n) : 1;
}

function envThreads(): number {
  const raw = envVar('QWM_THREADS');
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new ValueError('QWM_THREADS', `must be an integer in [1, 256], got ${raw}`);
  return n;
}

/** Threads in effect for kernel calls (1 = single-threaded). */
export function threadCount(): number {
  if (requested === null) {
    requested = envThreads();
    if (requested > 1 && factory) setThreads(requested);
  }
  return pool ? pool.active : 1;
}

let minParallelWork = 1 << 18;

/**
 * Threads to use for a call of `work` multiply-adds: 1 below the minimum (waking the pool
 * costs ~20-50 us, about 2^18 MACs of kernel time), else threadCount().
 */
export function threadsFor(work: number): number {
  return work < minParallelWork ? 1 : threadCount();
}

/** Set the minimum work for threading (tests set 0 to thread every call). Returns the old value. */
export function setMinParallelWork(macs: number): number {
  if (!(macs >= 0)) throw new ValueError('setMinParallelWork', `macs must be >= 0, got ${macs}`);
  const prev = minParallelWork;
  minParallelWork = macs;
  return prev;
}

/**
 * Diagnostics since the pool started: parallel jobs, their tasks, and how many of those the
 * workers ran (the rest ran on the calling thread). Zeros without a pool.
 */
export function poolStats(): { workers: number; jobs: number; tasks: number; tasksByWorkers: number } {
  if (!pool) return { workers: 0, jobs: 0, tasks: 0, tasksByWorkers: 0 };
  const byWorkers = Atomics.load(heap().i32(), (pool.ctrl >> 2) + CTRL.WORKER_TASKS);
  return { workers: pool.workers.length, jobs: pool.jobs, tasks: pool.tasks, tasksByWorkers: byWorkers };
}

/** Stop the workers (they exit at once; kernels keep working single-threaded). */
export function shutdownThreads(): void {
  shutdownPool();
  requested = 1;
}

function shutdownPool(): void {
  if (!pool) return;
  const p = pool;
  pool = null;
  const i32 = heap().i32();
  const b = p.ctrl >> 2;
  Atomics.store(i32, b + CTRL.STOP, 1);
  Atomics.add(i32, b + CTRL.SEQ, 1);
  Atomics.notify(i32, b + CTRL.SEQ);
  for (const w of p.workers) w.terminate();
  // the control block and kernel bytes stay allocated: a terminated worker may still read them
}

/**
 * Run every task: `kernel.exports[exportName](...tasks[t])` for each t, on any thread, in any
 * order. Tasks must write disjoint memory. Returns when all are done; a trap on any thread
 * is rethrown here as ThreadError after the others finish.
 */
export function runTasks(kernel: Kernel, exportName: string, tasks: readonly (readonly number[])[]): void {
  const fn = kernel.exports[exportName] as ((...a: number[]) => void) | undefined;
  if (typeof fn !== 'function') throw new ValueError('runTasks', `${kernel.name} has no export ${exportName}`);
  threadCount();
  const p = pool;
  if (!p || p.active <= 1 || tasks.length <= 1) {
    for (const t of tasks) fn(...t);
    return;
  }
  const nTasks = tasks.length;
  if (nTasks > MAX_TASKS) throw new ValueError('runTasks', `${nTasks} tasks exceed ${MAX_TASKS}`);
  const nArgs = tasks[0].length;
  const h = heap();
  let kb = p.kernelBytes.get(kernel.id);
  if (!kb) {
    kb = { ptr: h.put(kernel.bytes), len: kernel.bytes.length };
    p.kernelBytes.set(kernel.id, kb);
  }
  const argsPtr = h.alloc(nTasks * nArgs * 4);
  try {
    let i32 = h.i32();
    const a0 = argsPtr >> 2;
    for (let t = 0; t < nTasks; t++) {
      const row = tasks[t];
      if (row.length !== nArgs) throw new ValueError('runTasks', `task ${t} has ${row.length} args, task 0 has ${nArgs}`);
      for (let j = 0; j < nArgs; j++) i32[a0 + t * nArgs + j] = row[j];
    }
    const b = p.ctrl >> 2;
    // no tag while the job's fields change: a worker still reading the previous job's fields
    // (one that woke late, or was just spawned) re-checks the tag and skips instead of mixing them
    Atomics.store(i32, b + CTRL.CLAIM, -1);
    p.jobs++;
    p.tasks += nTasks;
    const seq = (p.seq + 1) & 0x7fffffff;
    p.seq = seq;
    const tag = (seq & 0x7fff) << 16;
    i32[b + CTRL.KERNEL] = kernel.id;
    i32[b + CTRL.EXPORT] = kernel.exportNames.indexOf(exportName);
    i32[b + CTRL.NTASKS] = nTasks;
    i32[b + CTRL.NARGS] = nArgs;
    i32[b + CTRL.ARGS] = argsPtr;
    i32[b + CTRL.BYTES] = kb.ptr;
    i32[b + CTRL.BYTES_LEN] = kb.len;
    Atomics.store(i32, b + CTRL.ERROR, 0);
    Atomics.store(i32, b + CTRL.DONE, 0);
    Atomics.store(i32, b + CTRL.CLAIM, tag);
    Atomics.store(i32, b + CTRL.SEQ, seq);
    Atomics.notify(i32, b + CTRL.SEQ, p.active - 1);

    // the caller claims tasks like a worker
    let mainError: unknown = null;
    for (;;) {
      const c = Atomics.load(i32, b + CTRL.CLAIM);
      const t = c & 0xffff;
      if (t >= nTasks) break;
      if (Atomics.compareExchange(i32, b + CTRL.CLAIM, c, c + 1) !== c) continue;
      try {
        fn(...tasks[t]);
      } catch (e) {
        mainError ??= e;
      }
      Atomics.add(i32, b + CTRL.DONE, 1);
    }
    waitDone(i32, b + CTRL.DONE, nTasks);
    i32 = h.i32();
    if (mainError) throw mainError;
    if (Atomics.load(i32, b + CTRL.ERROR) !== 0) {
      const len = Atomics.load(i32, b + CTRL.ERRMSG_LEN);
      const msg = new TextDecoder().decode(h.u8().slice(p.errmsg, p.errmsg + len));
      throw new ThreadError(kernel.name, msg);
    }
  } finally {
    h.release(argsPtr);
  }
}

function waitDone(i32: Int32Array, idx: number, n: number): void {
  if (canBlock === null) {
    try {
      Atomics.wait(i32, idx, -1, 0); // value differs: returns 'not-equal' where blocking is allowed
      canBlock = true;
    } catch {
      canBlock = false; // browser main thread
    }
  }
  for (;;) {
    const d = Atomics.load(i32, idx);
    if (d >= n) return;
    if (canBlock) Atomics.wait(i32, idx, d, 50);
  }
}
