/**
 * Module workers on Node (worker_threads): a small eval'd boot script imports the entry module
 * and calls its `main(port)`. Running from TypeScript sources (an entry ending in .ts, as under
 * tsx or vitest) needs a loader inside the worker: Node 20's module hooks do not reach workers,
 * so the boot script registers tsx's ESM hooks (tsx/esm/api, a dev dependency) first. Compiled
 * code (dist/*.js) needs nothing. Bun runs .ts natively and skips that step.
 *
 *   import { nodeModuleWorkers } from 'quantwm/platform/module-workers-node';
 *   const w = nodeModuleWorkers.spawn(new URL('./my-worker.js', import.meta.url));
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ValueError } from '../tensor/errors.js';
import type { ModuleWorker, ModuleWorkerFactory } from './types.js';

const BOOT = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  const m = await import(workerData.entry);
  if (typeof m.main !== 'function') throw new Error(workerData.entry + ' exports no main(port)');
  const { nodeWorkers } = await import(workerData.kernel);
  m.main({ post: (msg) => parentPort.postMessage(msg), onMessage: (cb) => { parentPort.removeAllListeners('message'); parentPort.on('message', cb); }, kernelWorkers: nodeWorkers });
})().catch((e) => { setTimeout(() => { throw e; }); });
`;

/** The kernel-thread factory each module worker hands its entry (port.kernelWorkers). */
const KERNEL_WORKERS = new URL(import.meta.url.endsWith('.ts') ? './workers-node.ts' : './workers-node.js', import.meta.url).href;

let tsxApi: string | null = null;

/** file URL of tsx's ESM register API, resolved from the entry's location through tsx's exports map. */
function tsxRegisterUrl(entry: string): string {
  if (tsxApi) return tsxApi;
  try {
    const pkgPath = createRequire(fileURLToPath(entry)).resolve('tsx/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
    const rel = pkg.exports['./esm/api']?.import?.default;
    if (!rel) throw new Error('tsx has no ./esm/api export');
    tsxApi = pathToFileURL(join(dirname(pkgPath), rel)).href;
    return tsxApi;
  } catch (e) {
    throw new ValueError('nodeModuleWorkers', `${entry} is TypeScript: a worker needs tsx to load it (npm install tsx, or run the compiled dist/): ${String(e)}`);
  }
}

export const nodeModuleWorkers: ModuleWorkerFactory = {
  spawn(entryUrl) {
    const entry = String(entryUrl);
    const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;
    const tsx = entry.startsWith('file:') && entry.endsWith('.ts') && !isBun ? tsxRegisterUrl(entry) : null;
    const w = new Worker(BOOT, { eval: true, workerData: { entry, tsx, kernel: KERNEL_WORKERS } });
    let stopped = false;
    let onError: (e: Error) => void = () => undefined;
    w.on('error', (e) => {
      if (!stopped) onError(e instanceof Error ? e : new Error(String(e)));
    });
    w.on('exit', (code) => {
      if (!stopped && code !== 0) onError(new Error(`worker exited with code ${code}`));
    });
    const handle: ModuleWorker = {
      post: (msg) => w.postMessage(msg),
      onMessage: (cb) => {
        w.removeAllListeners('message');
        w.on('message', cb);
      },
      onError: (cb) => {
        onError = cb;
      },
      terminate: () => {
        stopped = true;
        void w.terminate();
      },
    };
    return handle;
  },
};
