/**
 * The portable suite in a page (web/portable.html): kernel threads through Web Workers when the
 * page is cross-origin isolated (COOP/COEP headers), else the single-thread fallback. The
 * report lands in `globalThis.__qwmPortable` (read by test/portable/browser.rt.ts) and in the
 * page as text. `?threads=N` overrides the 2 threads requested.
 */
import { browserPlatform } from '../../src/platform/browser.js';
import { browserWorkers } from '../../src/platform/workers-browser.js';
import { poolStats, setThreads } from '../../src/tensor/threads/pool.js';
import { formatReport, runPortableSuite, type SuiteReport } from './suite.js';

interface PortableGlobal {
  __qwmPortable?: SuiteReport;
  __qwmPortableError?: string;
}

async function main(): Promise<void> {
  const out = document.getElementById('out') as HTMLElement;
  const params = new URLSearchParams(location.search);
  const threads = Number(params.get('threads') ?? '2');
  const files = browserPlatform(new URL('/test/fixtures/portable/', location.href));
  const log = (line: string): void => {
    out.textContent += `${line}\n`;
  };
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  log(`crossOriginIsolated: ${isolated}`);
  // Start the workers before the suite and give them a moment: a Web Worker starts
  // asynchronously (its script loads through this page's event loop), and a kernel call never
  // waits for a worker, so without this the first calls all run on this thread.
  if (threads > 1 && setThreads(threads, browserWorkers) > 1) await new Promise((ok) => setTimeout(ok, 300));
  log(`pool: ${JSON.stringify(poolStats())}`);
  const rep = await runPortableSuite({
    runtime: 'browser',
    readFixture: (name) => files.readFile(name),
    workers: browserWorkers,
    threads,
    log,
  });
  log(formatReport(rep));
  (globalThis as PortableGlobal).__qwmPortable = rep;
  document.title = 'portable suite: done';
}

main().catch((e: unknown) => {
  (globalThis as PortableGlobal).__qwmPortableError = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
  document.title = 'portable suite: error';
});
