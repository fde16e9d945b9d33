/**
 * Deno: files through the `Deno` namespace (needs --allow-read / --allow-write for the paths
 * used), CPU count from navigator.hardwareConcurrency. Kernel threads: ./workers-browser.ts
 * (Deno's Web Workers are module workers; SharedArrayBuffer is always available).
 *
 *   import { denoPlatform } from 'quantwm/platform/deno';   // run with: deno run --sloppy-imports ...
 */
import { dirnameOf } from './index.js';
import type { Platform } from './types.js';

/** The part of the Deno namespace used here (Deno's own types are not a dependency). */
interface DenoApi {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array, opts?: { append?: boolean; create?: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  stat(path: string): Promise<unknown>;
  mkdir(path: string, opts?: { recursive?: boolean }): Promise<void>;
  readDir(path: string): AsyncIterable<{ name: string }>;
  readonly pid: number;
}

function deno(): DenoApi {
  const d = (globalThis as { Deno?: DenoApi }).Deno;
  if (!d) throw new Error('denoPlatform: not running under Deno (globalThis.Deno is missing)');
  return d;
}

export const denoPlatform: Platform = {
  name: 'deno',
  readFile(path) {
    return deno().readFile(path);
  },
  async writeFile(path, bytes) {
    const D = deno();
    await D.mkdir(dirnameOf(path), { recursive: true });
    const tmp = `${path}.tmp-${D.pid}-${Date.now()}`;
    try {
      await D.writeFile(tmp, bytes);
      await D.rename(tmp, path);
    } catch (e) {
      await D.remove(tmp).catch(() => undefined);
      throw e;
    }
  },
  async appendFile(path, bytes) {
    const D = deno();
    await D.mkdir(dirnameOf(path), { recursive: true });
    await D.writeFile(path, bytes, { append: true, create: true });
  },
  async exists(path) {
    try {
      await deno().stat(path);
      return true;
    } catch {
      return false;
    }
  },
  async mkdirp(path) {
    await deno().mkdir(path, { recursive: true });
  },
  async readdir(path) {
    const out: string[] = [];
    for await (const e of deno().readDir(path)) out.push(e.name);
    return out.sort();
  },
  hardwareConcurrency() {
    return navigator.hardwareConcurrency || 1;
  },
};
