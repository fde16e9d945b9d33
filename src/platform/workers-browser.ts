/**
 * Kernel worker threads in browsers (and Deno, Bun) via Web Workers: the pool's worker
 * program is started from a Blob URL and receives the shared WebAssembly.Memory in its first
 * message. Needs cross-origin isolation (COOP/COEP headers) for SharedArrayBuffer; without
 * it the heap is not shared and the pool stays single-threaded. The worker program has no
 * imports and is strict-mode clean, so it runs as a module worker (Deno requires that).
 */
import type { WorkerFactory } from '../tensor/threads/types.js';

export const browserWorkers: WorkerFactory = {
  spawn(source, init) {
    const code = `${source}\nself.onmessage = (e) => { self.onmessage = null; main(e.data); };`;
    const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
    const w = new Worker(url, { type: 'module' }); // Deno accepts module workers only
    w.postMessage(init);
    URL.revokeObjectURL(url);
    return {
      terminate: () => w.terminate(),
      unref: () => undefined,
    };
  },
};
