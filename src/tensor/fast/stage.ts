/**
 * Moving tensors through the kernel heap and splitting work across threads, for the fast
 * ops. Kernels see only the heap (a worker thread cannot read a JS Float32Array), so an op
 * allocates its heap buffers, copies inputs in, runs its tasks (../threads runTasks) and
 * copies the output out into a fresh Float32Array. Every allocation is released in a
 * `finally`, also when a kernel traps.
 *
 * Determinism: tasks are disjoint row (or element) ranges and a kernel computes each row
 * the same way whatever range it sits in, so results are identical for any thread count.
 */
import { heap } from '../wasm/heap.js';
import { threadCount } from '../threads/pool.js';

type Typed = Float32Array | Float64Array | Int32Array | Uint8Array;

/**
 * Allocate `sizes` bytes each (0 -> pointer 0, "absent"), call `fn` with the pointers,
 * release them all afterwards.
 */
export function withHeap<R>(sizes: readonly number[], fn: (ptrs: number[]) => R): R {
  const h = heap();
  const ptrs: number[] = [];
  try {
    for (const s of sizes) ptrs.push(s > 0 ? h.alloc(s) : 0);
    return fn(ptrs);
  } finally {
    for (const p of ptrs) if (p !== 0) h.release(p);
  }
}

/** Copy a typed array to byte offset `ptr` of the heap. */
export function copyIn(src: Typed, ptr: number): void {
  heap().u8().set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), ptr);
}

/**
 * A fresh Float32Array holding `n` floats copied from byte offset `ptr` of the heap. Copied
 * as bytes: V8 copies a Float32Array view of a SharedArrayBuffer element by element (4-5x
 * slower than the byte memcpy).
 */
export function copyOutF32(ptr: number, n: number): Float32Array {
  const out = new Float32Array(n);
  new Uint8Array(out.buffer).set(new Uint8Array(heap().buffer, ptr, n * 4));
  return out;
}

/**
 * Threads to use for a call of about `work` elementary operations: the pool's count, or 1
 * below 2^16 (where publishing a job to the workers costs more than it saves).
 */
export function threadsFor(work: number): number {
  const t = threadCount();
  return work < 65536 ? 1 : t;
}

/**
 * Split [0, n) into contiguous ranges for `threads` threads: one range when threads = 1,
 * else about 4 per thread (dynamic claiming balances a busy core); boundaries are multiples
 * of `align`. Returns [start, end) pairs covering [0, n) in order.
 */
export function splitRange(n: number, threads: number, align = 1): [number, number][] {
  if (n <= 0) return [];
  if (threads <= 1) return [[0, n]];
  const units = Math.ceil(n / align);
  const want = Math.min(units, threads * 4);
  const per = Math.ceil(units / want) * align;
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += per) out.push([s, Math.min(n, s + per)]);
  return out;
}
