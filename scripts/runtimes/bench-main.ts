/**
 * The runtime benchmark on Node (tsx), Deno or Bun: prints `QWM_BENCH <rows JSON>`.
 * Run by bench/runtimes.bench.ts; alone: `npx bun scripts/runtimes/bench-main.ts`.
 */
import { runtimeName } from '../../src/platform/index.js';
import type { WorkerFactory } from '../../src/tensor/threads/types.js';
import { runWorkload } from './workload.js';

const rt = runtimeName();
const g = globalThis as { Deno?: { version: { deno: string }; exit(c: number): void }; Bun?: { version: string }; process?: { version: string; exit(c: number): void } };
const version = rt === 'deno' ? g.Deno!.version.deno : rt === 'bun' ? g.Bun!.version : g.process!.version;
const workers: WorkerFactory = rt === 'deno' ? (await import('../../src/platform/workers-browser.js')).browserWorkers : (await import('../../src/platform/workers-node.js')).nodeWorkers;
const rows = await runWorkload(`${rt} ${version}`, workers);
console.log(`QWM_BENCH ${JSON.stringify(rows)}`);
if (g.Deno) g.Deno.exit(0);
else g.process!.exit(0);
