/**
 * The live planning page (web/index.html via `quantwm serve`'s server, cross-origin isolated)
 * clicked through in headless Chromium: it loads; the float model plans Wall episodes until one
 * reaches the goal (seeds tried in order, at most PAGE_SEEDS.length episodes); the selector
 * switches to W8A8, which is quantized in the page (calibration on float CEM steps, RTN,
 * integer kernels) and plans an episode; then a screenshot of the canvas is decoded and checked:
 * not empty, the agent's pixel red, the goal's pixel green.
 *
 * With no shipped weights/wall.qwm the page falls back to a seeded random model, which cannot
 * reach goals: then the float episode must run all its MPC iterations instead (the test says
 * which case it checked). The screenshot is written to $TMPDIR/qwm-page.png.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type Session } from '../../scripts/runtimes/chromium.js';
import { decodePng } from '../../src/env/render/png.js';

/** Episode seeds tried with the float model until one succeeds. */
const PAGE_SEEDS = [1, 2, 3, 4, 5, 6];
/** Reduced CEM/MPC settings so an episode takes seconds (DINO-WM's are 300/30/10 and 50). */
const SETTINGS = 'samples=100&topk=10&opt=5&iters=10';
const ITERS = 10;

interface PageState {
  phase: string;
  modelSource: string;
  threads: number;
  episodes: { variant: string; seed: number; success: boolean; iterations: number; finalDistance: number }[];
  agent: [number, number] | null;
  goal: [number, number] | null;
  scale: number;
  error: string | null;
}

let session: Session;
const state = async (): Promise<PageState> => (await session.page.evaluate('globalThis.__qwm')) as PageState;

beforeAll(async () => {
  session = await openSession({ isolate: true, viewport: { width: 1100, height: 720 } });
});
afterAll(async () => {
  await session?.close();
});

/** Click "Plan episode" and wait (bounded) for the episode to be recorded. */
async function planEpisode(seed: number): Promise<PageState['episodes'][number]> {
  const { page } = session;
  const before = (await state()).episodes.length;
  await page.fill('#seed', String(seed));
  await page.click('#run');
  await page.waitForFunction(`globalThis.__qwm.episodes.length > ${before} || globalThis.__qwm.phase === 'error'`, null, { timeout: 300_000, polling: 250 });
  const s = await state();
  if (s.phase === 'error') throw new Error(`page error: ${s.error}\n${session.console.join('\n')}`);
  return s.episodes[s.episodes.length - 1];
}

function pixel(png: { width: number; rgb: Uint8Array }, x: number, y: number): [number, number, number] {
  const o = (Math.round(y) * png.width + Math.round(x)) * 3;
  return [png.rgb[o], png.rgb[o + 1], png.rgb[o + 2]];
}

describe('live planning page in headless chromium', () => {
  it('loads, plans to success with float, switches to W8A8, and its canvas shows the agent (red) and goal (green)', async () => {
    const { page, server } = session;
    await page.goto(`${server.url}/web/?${SETTINGS}`, { timeout: 60_000 });
    await page.waitForFunction(`globalThis.__qwm && (globalThis.__qwm.phase === 'ready' || globalThis.__qwm.phase === 'error')`, null, { timeout: 120_000, polling: 250 });
    let s = await state();
    expect(s.error).toBeNull();
    expect(s.threads).toBe(2); // served with COOP/COEP: kernel threads on
    expect(await page.isEnabled('#run')).toBe(true);
    const trained = !s.modelSource.startsWith('random-init');

    // float: plan episodes until one reaches the goal
    const floatRuns = [];
    for (const seed of PAGE_SEEDS) {
      const r = await planEpisode(seed);
      floatRuns.push(r);
      if (r.success || !trained) break;
    }
    console.log(`model: ${s.modelSource}\nfloat episodes: ${floatRuns.map((r) => `seed ${r.seed} ${r.success ? `success @${r.iterations}` : `fail (dist ${r.finalDistance.toFixed(1)})`}`).join(', ')}`);
    if (trained) expect(floatRuns.some((r) => r.success)).toBe(true);
    else expect(floatRuns[0]).toMatchObject({ success: false, iterations: ITERS }); // the random fallback runs every iteration
    expect(await page.textContent('#successes')).toMatch(/^float \d+\/\d+/);

    // switch to a quantized model and plan one episode with it
    await page.selectOption('#variant', 'w8a8');
    const seed = floatRuns[floatRuns.length - 1].seed;
    const q = await planEpisode(seed);
    expect(q.variant).toBe('w8a8');
    s = await state();
    expect(await page.textContent('#successes')).toMatch(/w8a8 \d\/1/);
    expect(await page.textContent('#steptime')).toMatch(/ms per CEM step/);

    // the screenshot: decode it and look at the agent's and the goal's pixels
    const shot = await page.locator('#world').screenshot();
    const file = join(tmpdir(), 'qwm-page.png');
    writeFileSync(file, shot);
    await page.screenshot({ path: join(tmpdir(), 'qwm-page-full.png') });
    console.log(`W8A8 seed ${seed}: ${q.success ? 'success' : 'fail'} after ${q.iterations} iterations; screenshot ${file}`);
    const png = decodePng(new Uint8Array(shot));
    expect(png.width).toBeGreaterThanOrEqual(390);
    const colours = new Set<number>();
    let dark = 0;
    for (let i = 0; i < png.rgb.length; i += 3) {
      colours.add((png.rgb[i] << 16) | (png.rgb[i + 1] << 8) | png.rgb[i + 2]);
      if (png.rgb[i] + png.rgb[i + 1] + png.rgb[i + 2] < 60) dark++;
    }
    expect(colours.size).toBeGreaterThan(20); // env, wall, trajectory, markers: not a blank canvas
    expect(dark).toBeGreaterThan(1000); // the wall and the border are drawn
    const k = png.width / 65; // screenshot pixels per grid cell (the canvas is 65 cells wide)
    const [ax, ay] = s.agent!;
    const [gx, gy] = s.goal!;
    const goalPx = pixel(png, (gx + 0.5) * k, (gy + 0.5) * k);
    expect(goalPx[1]).toBeGreaterThan(150); // the goal marker: green
    expect(goalPx[0]).toBeLessThan(100);
    expect(goalPx[2]).toBeLessThan(140);
    if (Math.hypot(ax - gx, ay - gy) * k > 12) {
      const agentPx = pixel(png, (ax + 0.5) * k, (ay + 0.5) * k);
      expect(agentPx[0]).toBeGreaterThan(200); // the agent: red
      expect(agentPx[1]).toBeLessThan(80);
      expect(agentPx[2]).toBeLessThan(80);
    } else expect(q.success).toBe(true); // the agent sits under the goal marker: it got there
  }, 900_000); // up to 7 episodes of <= 10 MPC iterations on a shared 2-core machine
});
