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
  heap().write(src, ptr);
}

/** Heap byte offset of a typed array that lives in the kernel heap, else -1. */
export function heapPtr(a: ArrayBufferView): number {
  return heap().owns(a.buffer) ? a.byteOffset : -1;
}

/**
 * Run a kernel on heap pointers: each input is read in place when it already lives in the
 * heap, else copied into a temporary; each output is written in place when it lives in the
 * heap (see `allocF32`), else through a temporary copied out afterwards; `scratch` byte
 * counts get temporaries (0 -> pointer 0). Temporaries are released also when `fn` throws.
 */
export function onHeap(inputs: readonly Typed[], outputs: readonly Float32Array[], scratch: readonly number[], fn: (ins: number[], outs: number[], scr: number[]) => void): void {
  const h = heap();
  const tmp: number[] = [];
  const temp = (bytes: number): number => {
    const p = h.alloc(bytes);
    tmp.push(p);
    return p;
  };
  try {
    const ins = inputs.map((a) => {
      const p = heapPtr(a);
      if (p >= 0) return p;
      const q = temp(a.byteLength);
      h.write(a, q);
      return q;
    });
    const outs = outputs.map((o) => {
      const p = heapPtr(o);
      return p >= 0 ? p : temp(o.byteLength);
    });
    const scr = scratch.map((b) => (b > 0 ? temp(b) : 0));
    fn(ins, outs, scr);
    outputs.forEach((o, i) => {
      if (heapPtr(o) < 0) h.read(outs[i], o);
    });
  } finally {
    for (const p of tmp) h.release(p);
  }
}

// ---- arenas: activations that stay in the heap between ops ----------------------------------

/**
 * Most bytes one stack of arenas may hold; past it `allocF32` returns ordinary arrays (the ops
 * still work, through copies). The heap never shrinks, so this also bounds its growth.
 */
export const ARENA_MAX_BYTES = 512 * 1024 * 1024;
let arenaMax = ARENA_MAX_BYTES;

/** Change the arena budget (tests); returns the previous one. */
export function setArenaMaxBytes(n: number): number {
  const prev = arenaMax;
  arenaMax = n;
  return prev;
}

interface Frame {
  ptrs: number[];
  sizes: number[];
}
const frames: Frame[] = [];
let arenaBytes = 0;

/**
 * A float32 output buffer for an op: inside `withArena` (and when the heap is shared, so its
 * views survive growth) a view of fresh heap memory owned by the innermost arena, so the next
 * kernel reads it in place; otherwise an ordinary Float32Array. Contents are unspecified.
 */
export function allocF32(n: number): Float32Array {
  const f = frames[frames.length - 1];
  const h = heap();
  if (!f || !h.shared || n === 0 || arenaBytes + n * 4 > arenaMax) return new Float32Array(n);
  const p = h.alloc(n * 4);
  f.ptrs.push(p);
  f.sizes.push(n * 4);
  arenaBytes += n * 4;
  return new Float32Array(h.buffer, p, n);
}

/**
 * Run `fn` with an arena: the op outputs made inside live in the heap and are released when it
 * returns (or throws), except the one holding the result, which moves to the enclosing arena,
 * or, at the outermost level, is copied to an ordinary array. Tensors made inside must not be
 * kept elsewhere (observers get copies: src/nn/linear.ts). Nest one per block so that memory
 * holds one block's activations at a time.
 */
export function withArena<R extends ArrayBufferView>(fn: () => R): R;
export function withArena<R>(fn: () => R, dataOf: (r: R) => Float32Array, rebuild: (r: R, data: Float32Array) => R): R;
export function withArena<R>(fn: () => R, dataOf?: (r: R) => Float32Array, rebuild?: (r: R, data: Float32Array) => R): R {
  const f: Frame = { ptrs: [], sizes: [] };
  frames.push(f);
  const h = heap();
  let keep = -1;
  try {
    let r = fn();
    const data = dataOf ? dataOf(r) : (r as unknown as Float32Array);
    const p = heapPtr(data);
    keep = p < 0 ? -1 : f.ptrs.findIndex((q, i) => p >= q && p + data.byteLength <= q + f.sizes[i]);
    if (keep >= 0 && frames.length === 1) {
      const copy = new Float32Array(data.length);
      h.read(p, copy);
      r = rebuild ? rebuild(r, copy) : (copy as unknown as R);
      keep = -1;
    }
    return r;
  } finally {
    frames.pop();
    const parent = frames[frames.length - 1];
    f.ptrs.forEach((p, i) => {
      if (i === keep && parent) {
        parent.ptrs.push(p);
        parent.sizes.push(f.sizes[i]);
      } else {
        h.release(p);
        arenaBytes -= f.sizes[i];
      }
    });
  }
}

/** Bytes held by open arenas (0 when none is open: nothing leaks). */
export function arenaInUse(): number {
  return arenaBytes;
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
 * else about 8 per thread (dynamic claiming balances a busy core); boundaries are multiples
 * of `align`. Returns [start, end) pairs covering [0, n) in order.
 */
export function splitRange(n: number, threads: number, align = 1): [number, number][] {
  if (n <= 0) return [];
  if (threads <= 1) return [[0, n]];
  const units = Math.ceil(n / align);
  const want = Math.min(units, threads * 8);
  const per = Math.ceil(units / want) * align;
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += per) out.push([s, Math.min(n, s + per)]);
  return out;
}
