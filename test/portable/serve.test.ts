/**
 * `quantwm serve`'s static server: 127.0.0.1 only, COOP/COEP on by default (off with
 * isolate: false), paths never leave their mount, /config.json names the model to load.
 */
import { describe, expect, it } from 'vitest';
import { startServer } from '../../src/cli/cmd-serve.js';

describe('quantwm serve static server', () => {
  it('isolated: COOP/COEP on every response; / redirects; traversal 403, unknown 404, POST 405', async () => {
    const s = await startServer({ port: 0, isolate: true });
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const page = await fetch(`${s.url}/web/portable.html`);
      expect(page.status).toBe(200);
      expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toMatch(/portable suite/);
      const root = await fetch(`${s.url}/`, { redirect: 'manual' });
      expect([root.status, root.headers.get('location')]).toEqual([302, '/web/']);
      expect((await fetch(`${s.url}/web/..%2f..%2fpackage.json`)).status).toBe(403);
      expect((await fetch(`${s.url}/package.json`)).status).toBe(404);
      expect((await fetch(`${s.url}/web/`, { method: 'POST' })).status).toBe(405);
      const golden = await fetch(`${s.url}/test/fixtures/portable/forward.bin`);
      expect(golden.status).toBe(200);
      expect((await golden.arrayBuffer()).byteLength).toBe(3458 * 4);
      const cfg = (await (await fetch(`${s.url}/config.json`)).json()) as { isolated: boolean; weights: string | null };
      expect(cfg.isolated).toBe(true);
      expect((await fetch(`${s.url}/vendor/fflate/esm/browser.js`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('not isolated: no COOP/COEP; --weights is served as /model.qwm and announced; a missing file is refused', async () => {
    const s = await startServer({ port: 0, isolate: false, weights: 'test/fixtures/portable/forward.bin' });
    try {
      const r = await fetch(`${s.url}/web/portable.html`);
      expect(r.headers.get('cross-origin-opener-policy')).toBeNull();
      expect(r.headers.get('cross-origin-embedder-policy')).toBeNull();
      expect(((await (await fetch(`${s.url}/config.json`)).json()) as { weights: string }).weights).toBe('/model.qwm');
      expect((await (await fetch(`${s.url}/model.qwm`)).arrayBuffer()).byteLength).toBe(3458 * 4);
    } finally {
      await s.close();
    }
    await expect(startServer({ port: 0, weights: 'no/such/file.qwm' })).rejects.toThrow(/no such file/);
    await expect(startServer({ port: 70000 })).rejects.toThrow(/port/);
  });
});
