/** The runtime benchmark in a page (web/bench.html): rows land in globalThis.__qwmBench. */
import { browserWorkers } from '../../src/platform/workers-browser.js';
import { runWorkload, type BenchRow } from './workload.js';

const G = globalThis as { __qwmBench?: BenchRow[]; __qwmBenchError?: string };
const out = document.getElementById('out') as HTMLElement;
const ua = navigator.userAgent.match(/(HeadlessChrome|Chrome|Firefox|Safari)\/[\d.]+/)?.[0] ?? 'browser';
runWorkload(`chromium ${ua.split('/')[1] ?? ''}`.trim(), browserWorkers).then(
  (rows) => {
    G.__qwmBench = rows;
    out.textContent = rows.map((r) => `${r.threads} thr  ${r.what} ${r.shape}: ${r.ms.toFixed(2)} ms, ${r.rate.toFixed(1)} ${r.unit}`).join('\n');
  },
  (e: unknown) => {
    G.__qwmBenchError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    out.textContent = G.__qwmBenchError;
  },
);
