export type { Platform } from './types.js';

/** The JavaScript runtime this code runs in. */
export type RuntimeName = 'node' | 'deno' | 'bun' | 'browser';

/**
 * Which runtime this is, from globals only (no imports, so it is safe everywhere):
 * Deno and Bun first (both also look like Node), then Node, else a browser or web worker.
 */
export function runtimeName(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown; process?: { versions?: { node?: string } } };
  if (g.Deno !== undefined) return 'deno';
  if (g.Bun !== undefined) return 'bun';
  if (g.process?.versions?.node !== undefined) return 'node';
  return 'browser';
}

/** The directory part of a '/'-separated path ('.' for a bare name), as node:path's dirname. */
export function dirnameOf(path: string): string {
  const p = path.replace(/\/+$/, '');
  const i = p.lastIndexOf('/');
  if (i < 0) return '.';
  return i === 0 ? '/' : p.slice(0, i);
}
