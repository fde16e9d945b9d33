import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/run.js';
import { Dataset } from '../../src/env/dataset/dataset.js';
import { decodeDataset, encodeDataset } from '../../src/env/dataset/store.js';
import { makeEnv } from '../../src/env/registry.js';
import { decodePng } from '../../src/env/render/png.js';
import { Rng } from '../../src/tensor/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'qwm-env-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI in-process with stdout/stderr captured. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await run(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('quantwm data gen / env render / env replay', () => {
  const data = join(dir, 'wall');

  it('data gen writes DIR/dataset.qwmd and summary.json; env replay checks and animates an episode', async () => {
    const g = await cli('data', 'gen', '--env', 'wall', '--out', data, '--trajectories', '6', '--steps', '10', '--seed', '2');
    expect(g.code).toBe(0);
    expect(g.out).toMatch(/6 episodes, 60 actions/);
    expect(g.err).toMatch(/ETA/);
    const ds = decodeDataset(readFileSync(join(data, 'dataset.qwmd')));
    expect(ds.episodes).toBe(6);
    expect(ds.generator.seed).toBe(2);
    const summary = JSON.parse(readFileSync(join(data, 'summary.json'), 'utf8')) as { info: { crossingFraction: number } };
    expect(summary.info.crossingFraction).toBe(ds.info.crossingFraction);
    const r = await cli('env', 'replay', '--data', data, '--episode', '2', '--out', join(dir, 'e2.gif'), '--size', '32');
    expect(r.code).toBe(0);
    const gif = readFileSync(join(dir, 'e2.gif'));
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(gif[6]).toBe(32);
  });

  it('env render writes the seeded start observation as PNG', async () => {
    const out = join(dir, 'pm.png');
    const r = await cli('env', 'render', '--env', 'pointmaze', '--seed', '1', '--out', out, '--size', '48');
    expect(r.code).toBe(0);
    const png = decodePng(readFileSync(out));
    const env = makeEnv('pointmaze');
    expect(png.width).toBe(48);
    expect(png.rgb).toEqual(env.render(env.sampleStartGoal(new Rng(1)).start, 48));
  });

  it('env replay exits 1 when the stored states do not follow from the stored actions', async () => {
    const ds = decodeDataset(readFileSync(join(data, 'dataset.qwmd')));
    const states = ds.states.slice();
    states[ds.stateRow[1] * ds.stateDim + 5 * ds.stateDim] += 0.25; // episode 1, step 5, x
    const bad = new Dataset({ ...ds, envParams: { ...ds.envParams }, states, stats: ds.stats, info: { ...ds.info } });
    const dir2 = join(dir, 'tampered');
    await cli('data', 'gen', '--env', 'wall', '--out', dir2, '--trajectories', '1', '--quiet');
    writeFileSync(join(dir2, 'dataset.qwmd'), encodeDataset(bad));
    const r = await cli('env', 'replay', '--data', dir2, '--episode', '1', '--out', join(dir, 'x.gif'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/diverges at step 5/);
  });

  it('bad usage and bad files exit 2 with a message naming the problem', async () => {
    expect((await cli('data', 'gen', '--env', 'wall')).err).toMatch(/--out/);
    expect((await cli('data', 'gen', '--env', 'cartpole', '--out', dir)).code).toBe(2);
    expect((await cli('data', 'gen', '--env', 'pusht', '--out', dir, '--door-y', '3')).code).toBe(2);
    expect((await cli('data', 'gen', '--env', 'wall', '--out', dir, '--policy', 'pusher')).code).toBe(2);
    expect((await cli('env', 'render', '--env', 'wall', '--out', join(dir, 'a.png'), '--size', '0')).code).toBe(2);
    expect((await cli('env', 'replay', '--data', data, '--episode', '6', '--out', join(dir, 'a.gif'))).code).toBe(2);
    expect((await cli('env', 'replay', '--data', join(dir, 'missing'), '--episode', '0', '--out', join(dir, 'a.gif'))).code).toBe(2);
    const cut = join(dir, 'cut');
    await cli('data', 'gen', '--env', 'wall', '--out', cut, '--trajectories', '2', '--quiet');
    const f = readFileSync(join(cut, 'dataset.qwmd'));
    writeFileSync(join(cut, 'dataset.qwmd'), f.subarray(0, f.length - 10));
    const r = await cli('env', 'replay', '--data', cut, '--episode', '0', '--out', join(dir, 'a.gif'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/truncated/);
    const h = await cli('data', 'gen', '--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/--trajectories/);
  });
});
