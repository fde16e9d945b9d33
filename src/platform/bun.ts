/**
 * Bun: whole-file reads and writes through Bun.file / Bun.write (Bun's fast paths), the rest
 * through node:fs/promises, which Bun implements natively. Kernel threads: ./workers-node.ts
 * or ./workers-browser.ts (Bun has both worker_threads and Web Workers).
 */
import { appendFile, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirnameOf } from './index.js';
import type { Platform } from './types.js';

/** The part of the Bun namespace used here (bun-types is not a dependency). */
interface BunApi {
  file(path: string): { arrayBuffer(): Promise<ArrayBuffer> };
  write(path: string, data: Uint8Array): Promise<number>;
}

function bun(): BunApi {
  const b = (globalThis as { Bun?: BunApi }).Bun;
  if (!b) throw new Error('bunPlatform: not running under Bun (globalThis.Bun is missing)');
  return b;
}

export const bunPlatform: Platform = {
  name: 'bun',
  async readFile(path) {
    await stat(path); // a missing file rejects with ENOENT, as on Node (Bun.file is lazy)
    return new Uint8Array(await bun().file(path).arrayBuffer());
  },
  async writeFile(path, bytes) {
    await mkdir(dirnameOf(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    try {
      await bun().write(tmp, bytes);
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  },
  async appendFile(path, bytes) {
    await mkdir(dirnameOf(path), { recursive: true });
    await appendFile(path, bytes);
  },
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  },
  async mkdirp(path) {
    await mkdir(path, { recursive: true });
  },
  async readdir(path) {
    return (await readdir(path)).sort();
  },
  hardwareConcurrency() {
    return navigator.hardwareConcurrency || 1;
  },
};
