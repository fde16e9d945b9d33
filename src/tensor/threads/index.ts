/** Kernel threads: pool API (the worker factories live in src/platform/workers-*.ts). */
export { setThreads, setWorkerFactory, threadCount, threadsFor, setMinParallelWork, shutdownThreads, poolStats, runTasks, ThreadError } from './pool.js';
export type { WorkerFactory, WorkerHandle } from './types.js';
