/**
 * The kernel heap: one WebAssembly.Memory (shared when SharedArrayBuffer is available, so
 * worker threads can run kernels on it) and a first-fit allocator over it.
 *
 * Overread contract (XNNPACK's XNN_EXTRA_BYTES): every allocation is followed by at least
 * OVERREAD_BYTES = 16 readable bytes that belong to no other live buffer's *payload*
 * (padding), so a kernel may read, but never write, up to one v128 past the end of a buffer.
 * `KernelSpec.overreadBytes` states how much a kernel relies on (must be <= 16).
 *
 * Pointers are byte offsets (i32) into the memory; 0 is never a valid allocation (the first
 * 64 bytes are reserved), so 0 can mean "absent" (e.g. no bias). Buffers are 64-byte aligned.
 * Views must be re-taken after any allocation (memory may have grown): use `heap().f32()`.
 */
import { ValueError } from '../errors.js';
import type { MemoryImport } from './emit/index.js';

export const PAGE_BYTES = 65536;
export const OVERREAD_BYTES = 16;
export const HEAP_ALIGN = 64;
/** 4 GiB: the wasm32 limit (Memory64 is not available on Node 20). */
export const MAX_PAGES = 65536;
const INITIAL_PAGES = 256; // 16 MiB

interface Block {
  ptr: number;
  size: number;
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  readonly maxPages: number;
  private free: Block[] = []; // sorted by ptr, coalesced
  private live = new Map<number, number>(); // ptr -> reserved size
  private inUse = 0;
  private peak = 0;
  /** every buffer object this memory has had (a shared memory's grow makes a new one; old views stay valid) */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(opts: { shared?: boolean; initialPages?: number; maxPages?: number } = {}) {
    const initial = opts.initialPages ?? INITIAL_PAGES;
    const wantShared = opts.shared ?? canShare();
    let mem: WebAssembly.Memory | null = null;
    let shared = false;
    let maxPages = opts.maxPages ?? MAX_PAGES;
    // 4 GiB of address space may be refused on 32-bit hosts: retry with smaller maxima.
    for (const max of [maxPages, 16384, 4096]) {
      if (max > maxPages || max < initial) continue;
      try {
        mem = new WebAssembly.Memory({ initial, maximum: max, shared: wantShared } as WebAssembly.MemoryDescriptor);
        shared = wantShared;
        maxPages = max;
        break;
      } catch {
        /* try the next size */
      }
    }
    if (!mem) {
      mem = new WebAssembly.Memory({ initial, maximum: maxPages });
      shared = false;
    }
    this.memory = mem;
    this.shared = shared && mem.buffer instanceof SharedArrayBuffer;
    this.maxPages = maxPages;
    this.buffers.add(mem.buffer);
    this.free.push({ ptr: HEAP_ALIGN, size: initial * PAGE_BYTES - HEAP_ALIGN });
  }

  /**
   * Is `buf` this heap's memory? True for the current buffer and, when shared, for the buffer
   * objects of earlier sizes (their views alias the same bytes). A non-shared memory detaches
   * its old buffer on grow, so only the current one counts.
   */
  owns(buf: ArrayBufferLike): boolean {
    return buf === this.memory.buffer || (this.shared && this.buffers.has(buf));
  }

  /** Import descriptor kernels must declare to link against this memory. */
  memoryImport(): MemoryImport {
    return { module: 'env', name: 'memory', initial: 1, maximum: MAX_PAGES, shared: this.shared };
  }

  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.memory.buffer;
  }
  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }
  i32(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }
  u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }
  i8(): Int8Array {
    return new Int8Array(this.memory.buffer);
  }

  /** Bytes currently allocated (including padding) and the high-water mark. */
  stats(): { inUse: number; peak: number; capacity: number; shared: boolean } {
    return { inUse: this.inUse, peak: this.peak, capacity: this.memory.buffer.byteLength, shared: this.shared };
  }

  /**
   * Allocate `bytes` (>= 0) plus OVERREAD_BYTES of padding, 64-byte aligned; grows the
   * memory when needed. Returns the pointer (never 0).
   */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new ValueError('heap.alloc', `bytes must be an integer >= 0, got ${bytes}`);
    const size = roundUp(bytes + OVERREAD_BYTES, HEAP_ALIGN);
    let i = this.free.findIndex((b) => b.size >= size);
    if (i < 0) {
      this.grow(size);
      i = this.free.findIndex((b) => b.size >= size);
    }
    const b = this.free[i];
    const ptr = b.ptr;
    if (b.size === size) this.free.splice(i, 1);
    else {
      b.ptr += size;
      b.size -= size;
    }
    this.live.set(ptr, size);
    this.inUse += size;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return ptr;
  }

  /** Release a pointer returned by alloc; double free or foreign pointers throw. */
  release(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new ValueError('heap.release', `pointer ${ptr} is not a live allocation`);
    this.live.delete(ptr);
    this.inUse -= size;
    let i = 0;
    while (i < this.free.length && this.free[i].ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    // coalesce with the next, then the previous block
    const cur = this.free[i];
    const next = this.free[i + 1];
    if (next && cur.ptr + cur.size === next.ptr) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.ptr + prev.size === cur.ptr) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
  }

  /**
   * Copy a typed array's bytes to byte offset `ptr`. As bytes: V8 copies typed arrays to or
   * from a SharedArrayBuffer element by element (4-5x slower than the byte memcpy).
   */
  write(src: ArrayBufferView, ptr: number): void {
    new Uint8Array(this.memory.buffer, ptr, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  }

  /** Copy `dst.byteLength` bytes from byte offset `ptr` into `dst` (bytes, as `write`). */
  read(ptr: number, dst: ArrayBufferView): void {
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(new Uint8Array(this.memory.buffer, ptr, dst.byteLength));
  }

  /** Copy a typed array into a fresh allocation; returns the pointer. */
  put(src: ArrayBufferView): number {
    const p = this.alloc(src.byteLength);
    this.write(src, p);
    return p;
  }

  private grow(minBytes: number): void {
    const cur = this.memory.buffer.byteLength;
    const curPages = cur / PAGE_BYTES;
    const needPages = Math.ceil(minBytes / PAGE_BYTES);
    const pages = Math.min(this.maxPages - curPages, Math.max(needPages, Math.ceil(curPages / 2)));
    if (pages < needPages) {
      throw new ValueError('heap.alloc', `cannot allocate ${minBytes} bytes: heap is ${cur} bytes of at most ${this.maxPages * PAGE_BYTES}`);
    }
    this.memory.grow(pages);
    this.buffers.add(this.memory.buffer);
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === cur) last.size += pages * PAGE_BYTES;
    else this.free.push({ ptr: cur, size: pages * PAGE_BYTES });
  }
}

function roundUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** SharedArrayBuffer usable (browsers also need cross-origin isolation). */
export function canShare(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const g = globalThis as { crossOriginIsolated?: boolean };
  return g.crossOriginIsolated !== false;
}

let theHeap: Heap | null = null;

/** The process-wide kernel heap (created on first use). */
export function heap(): Heap {
  if (!theHeap) theHeap = new Heap();
  return theHeap;
}
