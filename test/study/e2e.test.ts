import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodePlatform } from '../../src/platform/node.js';
import { makeCellRunner } from '../../src/study/cells.js';
import { cellKey, shardCells, type Cell } from '../../src/study/grid.js';
import { renderPlots, renderReport } from '../../src/study/report.js';
import { loadTimings, mergeResults, runStudy } from '../../src/study/runner.js';
import { defaultSettings } from '../../src/study/task.js';

/**
 * A tiny grid on the shipped Wall model, end to end: calibration by planning, quantization onto
 * the integer kernels, evaluation, report. Planner settings are shrunk to fit the test budget
 * (they are recorded in every result).
 */
const WEIGHTS = 'weights/wall.qwm';
const base = { task: 'wall' as const, abits: 16, act: null, target: 'both' as const };
const cells: Cell[] = [
  { ...base, experiment: 'baseline', method: 'fp', wbits: 16, group: -1 },
  { task: 'wall', experiment: 'weight-act', method: 'rtn', wbits: 4, abits: 8, group: -1, act: 'per-token', target: 'both' },
];

function runner() {
  return makeCellRunner({
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
  it('runs a tiny grid, resumes to the same results.jsonl, shards merge to the same report', { timeout: 400_000 }, async () => {
    expect(existsSync(WEIGHTS)).toBe(true);
    const full = mkdtempSync(join(tmpdir(), 'qwm-e2e-'));
    const all = await runStudy({ platform: nodePlatform, dir: full, cells, runCell: runner() });
    expect(all.map((r) => r.key)).toEqual(cells.map(cellKey));
    for (const r of all) {
      expect(r.metrics.episodes.length).toBe(2);
      expect(r.metrics.success_by_iter.length).toBe(2);
    }
    // the 4-bit file is smaller than the float one
    expect(all[1].model_bytes).toBeLessThan(all[0].model_bytes / 2);
    const md = renderReport(all, await loadTimings(nodePlatform, [full]));
    expect(md).toContain('## wall');
    expect(md).toContain('W4A8');
    expect([...renderPlots(all).keys()]).toEqual(expect.arrayContaining(["wall-success-vs-budget.svg", "wall-loss-vs-success.svg"]));

    // killed after the first cell, then resumed by the same call
    const cut = mkdtempSync(join(tmpdir(), 'qwm-e2e-'));
    let n = 0;
    const r0 = runner();
    await expect(runStudy({ platform: nodePlatform, dir: cut, cells, runCell: async (c, p) => { if (++n === 2) throw new Error('killed'); return r0(c, p); } })).rejects.toThrow('killed');
    await runStudy({ platform: nodePlatform, dir: cut, cells, runCell: runner() });
    expect(readFileSync(join(cut, 'results.jsonl'), 'utf8')).toBe(readFileSync(join(full, 'results.jsonl'), 'utf8'));

    // two shards, merged
    const shards = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'qwm-e2e-shard-')));
    for (let i = 0; i < 2; i++) await runStudy({ platform: nodePlatform, dir: shards[i], cells: shardCells(cells, i, 2), runCell: runner() });
    const merged = await mergeResults(nodePlatform, shards, cells);
    expect(merged).toEqual(all);
    expect(renderReport(merged)).toBe(renderReport(all));
    expect(readdirSync(full)).toContain('timings.jsonl');
  });
});
