/**
 * The kernel heap allocator: 64-byte aligned, never 0, live buffers (payload + 16-byte
 * overread padding) never overlap, freeing everything coalesces back to one block, growth
 * on demand, and bad pointers are typed errors.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Heap, HEAP_ALIGN, OVERREAD_BYTES, PAGE_BYTES, heap } from '../../../src/tensor/wasm/heap.js';
import { ValueError } from '../../../src/tensor/errors.js';

describe('Heap', () => {
  it('random alloc/free sequences keep buffers aligned, disjoint (payload + 16 B padding) and accounted', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ alloc: fc.integer({ min: 0, max: 70_000 }) }), fc.record({ free: fc.nat() })), { maxLength: 60 }),
        (ops) => {
          runs++;
          const h = new Heap({ initialPages: 1, shared: false });
          const live: { ptr: number; bytes: number }[] = [];
          for (const op of ops) {
            if ('alloc' in op) {
              const ptr = h.alloc(op.alloc);
              if (ptr === 0 || ptr % HEAP_ALIGN !== 0) return false;
              if (ptr + op.alloc + OVERREAD_BYTES > h.buffer.byteLength) return false;
              for (const b of live) {
                const disjoint = ptr + op.alloc + OVERREAD_BYTES <= b.ptr || b.ptr + b.bytes + OVERREAD_BYTES <= ptr;
                if (!disjoint) return false;
              }
              live.push({ ptr, bytes: op.alloc });
            } else if (live.length > 0) {
              const [b] = live.splice(op.free % live.length, 1);
              h.release(b.ptr);
            }
          }
          for (const b of live) h.release(b.ptr);
          // all free again: one block spanning the memory after the reserved head
          const big = h.alloc(h.buffer.byteLength - HEAP_ALIGN - OVERREAD_BYTES);
          return big === HEAP_ALIGN && h.stats().inUse === h.buffer.byteLength - HEAP_ALIGN;
        },
      ),
      { numRuns: 150 },
    );
    expect(runs).toBe(150);
  });

  it('grows the memory when no free block fits, keeping earlier contents', () => {
    const h = new Heap({ initialPages: 1, shared: false });
    const p = h.alloc(100);
    h.u8()[p] = 42;
    const q = h.alloc(3 * PAGE_BYTES);
    expect(h.buffer.byteLength).toBeGreaterThanOrEqual(4 * PAGE_BYTES);
    expect(h.u8()[p]).toBe(42);
    expect(q).toBeGreaterThan(p);
  });

  it('double free, foreign pointers and negative sizes are ValueErrors naming heap.*', () => {
    const h = new Heap({ initialPages: 1, shared: false });
    const p = h.alloc(8);
    h.release(p);
    expect(() => h.release(p)).toThrow(ValueError);
    expect(() => h.release(p + 4)).toThrow(/heap\.release/);
    expect(() => h.alloc(-1)).toThrow(/heap\.alloc/);
    expect(() => new Heap({ initialPages: 1, maxPages: 1, shared: false }).alloc(PAGE_BYTES)).toThrow(/cannot allocate/);
  });

  it('the process heap is shared on Node (SharedArrayBuffer), so worker threads can use it', () => {
    expect(heap().shared).toBe(true);
    expect(heap().memoryImport()).toEqual({ module: 'env', name: 'memory', initial: 1, maximum: 65536, shared: true });
  });
});
