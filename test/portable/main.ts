/**
 * The portable suite's command-line entry for Node (tsx), Deno and Bun; the same file runs on
 * all three, choosing the platform's file reader and worker factory by runtime:
 *
 *   npx tsx  test/portable/main.ts [--threads N] [--json]
 *   npx deno run --sloppy-imports --no-lock --allow-read --allow-env test/portable/main.ts
 *   npx bun  test/portable/main.ts
 *   npx tsx  test/portable/main.ts --write-golden      (re-make test/fixtures/portable/forward.bin)
 *
 * --workers node|web picks worker_threads or Web Workers (defaults: Node and Bun node, Deno web).
 *
 * Prints a summary, then one line `QWM_PORTABLE <report JSON>` for test/portable/*.rt.ts.
 * Exit 1 when a check fails.
 */
import { runtimeName } from '../../src/platform/index.js';
import type { Platform } from '../../src/platform/types.js';
import type { WorkerFactory } from '../../src/tensor/threads/types.js';
import { formatReport, goldenBytes, runPortableSuite } from './suite.js';

const args: string[] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const fixtures = decodeURIComponent(new URL('../fixtures/portable/', import.meta.url).pathname);

async function host(): Promise<{ platform: Platform; workers: WorkerFactory; runtime: string; version: string }> {
  const rt = runtimeName();
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string }; process?: { version: string } };
  if (rt === 'deno') {
    const [{ denoPlatform }, { browserWorkers }] = await Promise.all([import('../../src/platform/deno.js'), import('../../src/platform/workers-browser.js')]);
    return { platform: denoPlatform, workers: browserWorkers, runtime: 'deno', version: g.Deno!.version.deno };
  }
  if (rt === 'bun') {
    const [{ bunPlatform }, { nodeWorkers }] = await Promise.all([import('../../src/platform/bun.js'), import('../../src/platform/workers-node.js')]);
    return { platform: bunPlatform, workers: nodeWorkers, runtime: 'bun', version: g.Bun!.version };
  }
  const [{ nodePlatform }, { nodeWorkers }] = await Promise.all([import('../../src/platform/node.js'), import('../../src/platform/workers-node.js')]);
  return { platform: nodePlatform, workers: nodeWorkers, runtime: 'node', version: g.process!.version };
}

function exit(code: number): void {
  const g = globalThis as { Deno?: { exit(c: number): void }; process?: { exitCode?: number; exit(c: number): void } };
  if (g.Deno) g.Deno.exit(code);
  else g.process!.exit(code);
}

const h = await host();
const kind = flag('--workers');
if (kind === 'web') h.workers = (await import('../../src/platform/workers-browser.js')).browserWorkers;
else if (kind === 'node') h.workers = (await import('../../src/platform/workers-node.js')).nodeWorkers;
else if (kind !== undefined) throw new Error(`--workers must be node or web, got ${kind}`);
if (args.includes('--write-golden')) {
  await h.platform.writeFile(`${fixtures}forward.bin`, goldenBytes());
  console.log(`wrote ${fixtures}forward.bin`);
  exit(0);
} else {
  const threads = Number(flag('--threads') ?? '2');
  const quiet = args.includes('--quiet');
  const rep = await runPortableSuite({
    runtime: `${h.runtime} ${h.version}`,
    readFixture: (name) => h.platform.readFile(`${fixtures}${name}`),
    workers: h.workers,
    threads,
    log: quiet ? undefined : (line) => console.error(`[${h.runtime}] ${line}`),
  });
  if (!quiet) console.log(formatReport(rep));
  console.log(`QWM_PORTABLE ${JSON.stringify(rep)}`);
  exit(rep.checks.every((c) => c.ok) ? 0 : 1);
}
