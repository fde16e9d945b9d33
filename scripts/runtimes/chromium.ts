/**
 * Headless Chromium for the runtime tests and benches: Debian's /usr/bin/chromium (never a
 * browser download) driven by playwright-core, with a fresh --user-data-dir per launch and the
 * flags that keep it off the network. Pages are served by `quantwm serve`'s server on
 * 127.0.0.1 (an ephemeral port), with or without COOP/COEP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/cli/cmd-serve.js';

/** QWM_CHROMIUM overrides the path. */
export const CHROMIUM_PATH = process.env.QWM_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export interface Session {
  readonly server: RunningServer;
  readonly context: BrowserContext;
  readonly page: Page;
  /** browser console lines and page errors, for failure messages */
  readonly console: string[];
  close(): Promise<void>;
}

/**
 * Start the server (isolated or not) and a fresh Chromium with one page. Always pair with
 * close() (in a finally): it ends the browser, removes the profile and stops the server.
 */
export async function openSession(o: { isolate: boolean; weights?: string | null; viewport?: { width: number; height: number } }): Promise<Session> {
  const server = await startServer({ port: 0, isolate: o.isolate, weights: o.weights ?? null });
  const profile = await mkdtemp(join(tmpdir(), 'qwm-chromium-'));
  let context: BrowserContext | null = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
      viewport: o.viewport ?? { width: 1200, height: 800 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const lines: string[] = [];
    page.on('console', (m) => lines.push(`[console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
    const ctx = context;
    return {
      server,
      context: ctx,
      page,
      console: lines,
      async close() {
        await ctx.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
        await server.close();
      },
    };
  } catch (e) {
    await context?.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
    await server.close();
    throw e;
  }
}
