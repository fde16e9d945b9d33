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
