/**
 * Per-call heap scratch for the integer kernels: one allocation carved into 16-aligned regions.
 */
import { hasSimd128 } from '../probe.js';

/** Byte offsets of a per-call scratch area carved from one heap allocation (16-aligned). */
export function carve(sizes: Record<string, number>): { total: number; off: Record<string, number> } {
  let total = 0;
  const off: Record<string, number> = {};
  for (const [k, v] of Object.entries(sizes)) {
    off[k] = total;
    total += Math.ceil(v / 16) * 16;
  }
  return { total, off };
}

/** Absolute pointers of every carved region. */
export function pointers(base: number, off: Record<string, number>): Record<string, number> {
  const p: Record<string, number> = {};
  for (const [k, v] of Object.entries(off)) p[k] = base + v;
  return p;
}

/** The WebAssembly kernels are usable here (SIMD128 validates); else the twins run. */
export function useWasm(): boolean {
  return hasSimd128();
}
