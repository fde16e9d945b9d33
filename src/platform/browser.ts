/**
 * Browsers (and any runtime with fetch): files are read over HTTP relative to a base URL;
 * writes go to an in-memory overlay (a page has no file system), which later reads, exists and
 * readdir see. Kernel threads: ./workers-browser.ts, with SharedArrayBuffer only when the page
 * is cross-origin isolated (served with COOP: same-origin and COEP: require-corp).
 *
 *   const files = browserPlatform(new URL('/weights/', location.href));
 *   const bytes = await files.readFile('wall.qwm');
 */
import { ValueError } from '../tensor/errors.js';
import type { Platform } from './types.js';

export interface BrowserPlatform extends Platform {
  /** The files written so far (path -> bytes), e.g. to offer them as downloads. */
  readonly written: ReadonlyMap<string, Uint8Array>;
}

/**
 * @param base URL that relative paths resolve against (default: the page's location)
 * @param fetchFn the fetch to use (default: globalThis.fetch)
 */
export function browserPlatform(base?: string | URL, fetchFn: typeof fetch = (...a) => fetch(...a)): BrowserPlatform {
  const root = base ?? (globalThis as { location?: { href: string } }).location?.href;
  if (root === undefined) throw new ValueError('browserPlatform', 'no base URL: pass one (there is no page location here)');
  const store = new Map<string, Uint8Array>();
  const url = (path: string): string => new URL(path, root).href;
  return {
    name: 'browser',
    written: store,
    async readFile(path) {
      const u = url(path);
      const mem = store.get(u);
      if (mem) return mem.slice();
      const r = await fetchFn(u);
      if (!r.ok) throw new ValueError('browserPlatform.readFile', `${u}: HTTP ${r.status} ${r.statusText}`);
      return new Uint8Array(await r.arrayBuffer());
    },
    async writeFile(path, bytes) {
      store.set(url(path), bytes.slice());
    },
    async appendFile(path, bytes) {
      const u = url(path);
      const prev = store.get(u) ?? new Uint8Array(0);
      const next = new Uint8Array(prev.length + bytes.length);
      next.set(prev);
      next.set(bytes, prev.length);
      store.set(u, next);
    },
    async exists(path) {
      const u = url(path);
      if (store.has(u)) return true;
      try {
        return (await fetchFn(u, { method: 'HEAD' })).ok;
      } catch {
        return false;
      }
    },
    async mkdirp() {
      // directories are implicit in URLs
    },
    async readdir(path) {
      const dir = url(path.endsWith('/') ? path : `${path}/`);
      const names = new Set<string>();
      for (const k of store.keys()) if (k.startsWith(dir)) names.add(k.slice(dir.length).split('/')[0]);
      return [...names].sort(); // only what this page wrote: HTTP has no directory listing
    },
    hardwareConcurrency() {
      return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency || 1;
    },
  };
}
