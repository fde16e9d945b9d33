/**
 * The portable suite in headless Chromium (Debian's /usr/bin/chromium via playwright-core),
 * served by `quantwm serve`'s server: with COOP/COEP (cross-origin isolated: shared memory,
 * 2 kernel threads on Web Workers) and without (the single-thread fallback). Both must give
 * every output bit-identical to Node. Needs the compiled page: `npm run test:browser` runs
 * `tsc -p web/tsconfig.json` first.
 */
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type Session } from '../../scripts/runtimes/chromium.js';
import { nodeReport } from './node-reference.js';
import { ROOT, differences, failures, summary } from './runtimes.js';
import type { SuiteReport } from './suite.js';

let node: SuiteReport;
let session: Session | null = null;

beforeAll(async () => {
  const page = `${ROOT}dist/www/test/portable/browser.js`;
  if (!existsSync(page)) throw new Error(`${page} is missing: run \`npx tsc -p web/tsconfig.json\` (npm run test:browser does)`);
  node = await nodeReport();
});

afterEach(async () => {
  await session?.close();
  session = null;
});

async function browserReport(isolate: boolean): Promise<SuiteReport> {
  session = await openSession({ isolate });
  const s = session;
  await s.page.goto(`${s.server.url}/web/portable.html`, { timeout: 60_000 });
  await s.page.waitForFunction('globalThis.__qwmPortable !== undefined || globalThis.__qwmPortableError !== undefined', null, { timeout: 240_000, polling: 250 });
  const err = (await s.page.evaluate('globalThis.__qwmPortableError')) as string | undefined;
  if (err) throw new Error(`suite crashed in the page: ${err}\n${s.console.join('\n')}`);
  const rep = (await s.page.evaluate('globalThis.__qwmPortable')) as SuiteReport;
  return { ...rep, runtime: `chromium ${isolate ? 'isolated' : 'not isolated'}` };
}

describe('portable suite in headless chromium vs node', () => {
  it('cross-origin isolated (COOP/COEP): 2 threads on Web Workers, every output bit-identical to node', async () => {
    const rep = await browserReport(true);
    console.log(`${summary(node)}\n${summary(rep)}\n  ${rep.userAgent}`);
    expect(failures(node)).toEqual([]);
    expect(failures(rep)).toEqual([]);
    expect(rep.outputs.length).toBeGreaterThan(60);
    expect(rep.sharedMemory).toBe(true);
    expect(rep.threads).toBe(2);
    expect(rep.workerTasks).toBeGreaterThan(0);
    expect(differences(node, rep)).toEqual([]);
    expect(rep.combined).toBe(node.combined);
  });

  it('not isolated (no COOP/COEP): the single-thread fallback, every output bit-identical to node', async () => {
    const rep = await browserReport(false);
    console.log(`${summary(node)}\n${summary(rep)}`);
    expect(failures(rep)).toEqual([]);
    expect(rep.sharedMemory).toBe(false);
    expect(rep.threads).toBe(1);
    expect(rep.workerTasks).toBe(0);
    expect(differences(node, rep)).toEqual([]);
    expect(rep.combined).toBe(node.combined);
  });
});
