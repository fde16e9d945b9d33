/**
 * What the kernel pool needs from the runtime to start threads. Implementations live in
 * src/platform (workers-node.ts: worker_threads; workers-browser.ts: Web Workers); the pool
 * itself is web-standard and receives a factory through `setThreads(n, factory)`.
 */
export interface WorkerHandle {
  terminate(): void;
  /** Do not keep the process alive for this worker (Node); a no-op elsewhere. */
  unref(): void;
}

export interface WorkerFactory {
  /**
   * Start a worker that evaluates `source` (a classic script that defines
   * `function main(init)`) and then calls `main(init)`; `init` is structured-cloned
   * (it carries the shared WebAssembly.Memory).
   */
  spawn(source: string, init: unknown): WorkerHandle;
}
