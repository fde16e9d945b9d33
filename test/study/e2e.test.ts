import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../src/env/render/png.js';
import { nodeModuleWorkers } from '../../src/platform/module-workers-node.js';
import { nodePlatform } from '../../src/platform/node.js';
import { makeCellRunner } from '../../src/study/cells.js';
import { cellKey, shardCells, type Cell } from '../../src/study/grid.js';
import { renderPlots, renderReport } from '../../src/study/report.js';
import { loadTimings, mergeResults, runStudy } from '../../src/study/runner.js';
import { composeStrips, stripCells, stripRowFile } from '../../src/study/strips.js';
import { defaultSettings } from '../../src/study/task.js';

/**
 * A tiny grid on the shipped Wall model, end to end: calibration by planning, quantization onto
 * the integer kernels, evaluation (episodes in 2 workers, or 1 at a time: the same bytes), report
 * and episode strips. Planner settings are shrunk to fit the test budget (they are recorded in
 * every result).
 */
const WEIGHTS = 'weights/wall.qwm';
const base = { task: 'wall' as const, abits: 16, act: null, target: 'both' as const };
const cells: Cell[] = [
  { ...base, experiment: 'baseline', method: 'fp', wbits: 16, group: -1 },
  { task: 'wall', experiment: 'weight-act', method: 'rtn', wbits: 4, abits: 8, group: -1, act: 'per-token', target: 'both' },
];

function runner(jobs = 1) {
  return makeCellRunner({
    jobs,
    workers: nodeModuleWorkers,
    strips: { keys: stripCells(cells), episodes: 2 },
    assets: async () => ({ modelBytes: await nodePlatform.readFile(WEIGHTS) }),
    settings: () => {
      const s = defaultSettings('wall');
      s.cem = { ...s.cem, samples: 40, topk: 5, optSteps: 3 };
      s.eval = { ...s.eval, episodes: 2, mpc: { maxIter: 2 } };
      return s;
    },
    calib: { episodes: 1, quantIter: 1, rows: 256 },
    groupLayout: 'flat',
  });
}

describe('study end to end on the shipped Wall model', () => {
  it('runs a tiny grid (episodes in 2 workers), resumes (1 at a time) to the same results.jsonl and strips, shards merge to the same report', { timeout: 400_000 }, async () => {
    expect(existsSync(WEIGHTS)).toBe(true);
    const full = mkdtempSync(join(tmpdir(), 'qwm-e2e-'));
    const all = await runStudy({ platform: nodePlatform, dir: full, cells, runCell: runner(2) });
    expect(all.map((r) => r.key)).toEqual(cells.map(cellKey));
    for (const r of all) {
      expect(r.metrics.episodes.length).toBe(2);
      expect(r.metrics.success_by_iter.length).toBe(2);
    }
    // the 4-bit file is smaller than the float one
    expect(all[1].model_bytes).toBeLessThan(all[0].model_bytes / 2);
    const strips = await composeStrips(nodePlatform, [full], all);
    // one strip per episode; each shows float and the W4A8 cell (both are strip cells: lowest bits of their family)
    expect(strips.map((x) => x.file)).toEqual(['strip-wall-ep000.png', 'strip-wall-ep001.png']);
    expect(strips.map((x) => x.seed)).toEqual([1, 100]);
    for (const x of strips) {
      expect(x.labels).toEqual(['fp', 'rtn W4A8 per-token']);
      const png = decodePng(x.png); // valid PNG
      // two row pairs of 64-px frames (goal, start, 5 steps) under a header: taller than 4 frames, wider than 7
      expect(png.height).toBeGreaterThan(4 * 64);
      expect(png.width).toBeGreaterThan(7 * 64);
      // real and imagined frames are not blank: many distinct colours
      expect(new Set(Array.from({ length: png.rgb.length / 3 }, (_, i) => (png.rgb[3 * i] << 16) | (png.rgb[3 * i + 1] << 8) | png.rgb[3 * i + 2])).size).toBeGreaterThan(50);
      const row = decodePng(readFileSync(join(full, stripRowFile(all[0].key, x.episode))));
      expect([row.width, row.height]).toEqual([7 * 64, 2 * 64]);
    }
    expect(strips[0].png).not.toEqual(strips[1].png);
    const md = renderReport(all, await loadTimings(nodePlatform, [full]), undefined, strips);
    expect(md).toContain('## wall');
    expect(md).toContain('W4A8');
    expect(md).toContain('](strip-wall-ep000.png)');
    expect(md).toContain('](strip-wall-ep001.png)');
    expect([...renderPlots(all).keys()]).toEqual(expect.arrayContaining(["wall-success-vs-budget.svg", "wall-loss-vs-success.svg"]));

    // killed after the first cell, then resumed by the same call, now one episode at a time
    const cut = mkdtempSync(join(tmpdir(), 'qwm-e2e-'));
    let n = 0;
    const r0 = runner(1);
    await expect(runStudy({ platform: nodePlatform, dir: cut, cells, runCell: async (c, p) => { if (++n === 2) throw new Error('killed'); return r0(c, p); } })).rejects.toThrow('killed');
    await runStudy({ platform: nodePlatform, dir: cut, cells, runCell: runner(1) });
    expect(readFileSync(join(cut, 'results.jsonl'), 'utf8')).toBe(readFileSync(join(full, 'results.jsonl'), 'utf8'));
    const resumed = await composeStrips(nodePlatform, [cut], all);
    expect(resumed).toEqual(strips); // same PNG bytes

    // two shards, merged
    const shards = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'qwm-e2e-shard-')));
    for (let i = 0; i < 2; i++) await runStudy({ platform: nodePlatform, dir: shards[i], cells: shardCells(cells, i, 2), runCell: runner(1) });
    const merged = await mergeResults(nodePlatform, shards, cells);
    expect(merged).toEqual(all);
    expect(renderReport(merged)).toBe(renderReport(all));
    expect(await composeStrips(nodePlatform, shards, merged)).toEqual(strips);
    expect(readdirSync(full)).toContain('timings.jsonl');
  });
});
