/**
 * Kernel worker threads on Node (also Bun and Deno through node:worker_threads): the pool's
 * web-standard worker program runs as an eval'd script; the shared WebAssembly.Memory
 * travels in workerData. Workers are unref'd by the pool, so they never keep the process
 * alive, and are terminated by shutdownThreads().
 *
 *   import { setThreads } from 'quantwm';  import { nodeWorkers } from 'quantwm/platform/workers-node';
 *   setThreads(2, nodeWorkers);
 */
import { Worker } from 'node:worker_threads';
import type { WorkerFactory } from '../tensor/threads/types.js';

export const nodeWorkers: WorkerFactory = {
  spawn(source, init) {
    const w = new Worker(`${source}\nmain(require('node:worker_threads').workerData);`, { eval: true, workerData: init });
    // a worker that dies (it cannot, short of OOM) must not crash the process from an event
    w.on('error', (e) => console.error(`[qwm] kernel worker failed: ${String(e)}`));
    return {
      terminate: () => void w.terminate(),
      unref: () => w.unref(),
    };
  },
};
