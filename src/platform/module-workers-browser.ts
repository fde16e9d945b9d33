/**
 * Module workers in browsers (and Deno, Bun) via Web Workers: a module worker from a Blob URL
 * imports the entry (an absolute URL) and calls its `main(port)`. Messages that arrive before
 * `main` installs its handler are queued, so none is lost while the entry loads.
 */
import type { ModuleWorker, ModuleWorkerFactory } from './types.js';

const BOOT = `
let handler = null;
const queue = [];
self.onmessage = (e) => (handler ? handler(e.data) : queue.push(e.data));
const entry = new URL(self.name).searchParams.get('entry');
const m = await import(entry);
if (typeof m.main !== 'function') throw new Error(entry + ' exports no main(port)');
m.main({ post: (msg) => self.postMessage(msg), onMessage: (cb) => { handler = cb; while (queue.length) cb(queue.shift()); } });
`;

export const browserModuleWorkers: ModuleWorkerFactory = {
  spawn(entryUrl) {
    const entry = new URL(String(entryUrl), (globalThis as { location?: { href: string } }).location?.href).href;
    const url = URL.createObjectURL(new Blob([BOOT], { type: 'text/javascript' }));
    // the entry travels in the worker's name: a Blob module has no other way to receive it before its first await
    const w = new Worker(url, { type: 'module', name: `qwm:?entry=${encodeURIComponent(entry)}` });
    URL.revokeObjectURL(url);
    let onError: (e: Error) => void = () => undefined;
    let onMessage: (m: unknown) => void = () => undefined;
    w.onmessage = (e: MessageEvent) => onMessage(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      onError(new Error(e.message || 'worker failed to load'));
    };
    w.onmessageerror = () => onError(new Error('a message from the worker could not be deserialized'));
    const handle: ModuleWorker = {
      post: (msg) => w.postMessage(msg),
      onMessage: (cb) => {
        onMessage = cb;
      },
      onError: (cb) => {
        onError = cb;
      },
      terminate: () => w.terminate(),
    };
    return handle;
  },
};
