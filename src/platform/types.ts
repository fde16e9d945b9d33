import type { WorkerFactory } from '../tensor/threads/types.js';

/**
 * The few runtime-specific services the library needs. Library code receives a `Platform`
 * (or plain bytes) and never imports fs, path, worker_threads or Buffer itself.
 */
export interface Platform {
  readonly name: 'node' | 'deno' | 'bun' | 'browser';
  /** Whole file as bytes. */
  readFile(path: string): Promise<Uint8Array>;
  /** Write atomically: a temporary sibling is written, then renamed over `path`. */
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  /** Append bytes (used for JSON-lines results); creates the file if needed. */
  appendFile(path: string, bytes: Uint8Array): Promise<void>;
  exists(path: string): Promise<boolean>;
  mkdirp(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** Logical CPU count available to worker pools. */
  hardwareConcurrency(): number;
}

/**
 * One end of a message channel between a thread and a module worker: messages are
 * structured-cloned (typed arrays keep every bit), delivered in order.
 */
export interface WorkerPort {
  post(msg: unknown): void;
  /** Install the one message handler (replaces the previous one). */
  onMessage(cb: (msg: unknown) => void): void;
  /**
   * Inside a module worker: the runtime's kernel-thread factory, so the worker can run its own
   * kernel pool (e.g. an episode worker taking over cores its idle siblings leave); absent where
   * the runtime's module workers do not provide one.
   */
  readonly kernelWorkers?: WorkerFactory;
}

/** A module worker seen from the thread that started it. */
export interface ModuleWorker extends WorkerPort {
  /** Called once if the worker fails outside a message handler's own error reporting (load error, crash, non-zero exit). */
  onError(cb: (e: Error) => void): void;
  terminate(): void;
}

/**
 * Starts workers that run a module: the worker imports `entry` (an ES module URL) and calls its
 * exported `main(port: WorkerPort)`, where `port` talks back to the starting thread. Whole-job
 * parallelism (e.g. one MPC episode per message), unlike the kernel pool's shared-memory tasks.
 * Implementations: ./module-workers-node.ts (worker_threads), ./module-workers-browser.ts (Web Workers).
 */
export interface ModuleWorkerFactory {
  spawn(entry: URL | string): ModuleWorker;
}
