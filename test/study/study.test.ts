import { mkdtempSync, readFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/plan/evaluator.js';
import type { EpisodeResult } from '../../src/plan/mpc.js';
import { nodePlatform } from '../../src/platform/node.js';
import { cellKey, paperGrid, parseShard, quickGrid, shardCells, type Cell } from '../../src/study/grid.js';
import { renderPlots, renderReport } from '../../src/study/report.js';
import { parseResults, type CellResult } from '../../src/study/results.js';
import { mergeResults, runStudy } from '../../src/study/runner.js';
import { k8sManifest, slurmScript } from '../../src/study/emit.js';
import { actFinding, groupFinding, linkFinding, moduleFinding } from '../../src/study/verdicts.js';
import { Rng } from '../../src/tensor/rng.js';

/** Synthetic episodes: `wins` successes out of n, planning losses drawn so that successes have lower loss when `linked`. */
function fakeResult(cell: Cell, wins: number, n = 10, linked = true): CellResult {
  const rng = new Rng(cellKey(cell).length * 7919 + wins);
  const eps: EpisodeResult[] = [];
  for (let i = 0; i < n; i++) {
    const ok = i < wins;
    const loss = linked ? (ok ? rng.uniform() : 1 + rng.uniform()) : rng.uniform();
    eps.push({ success: ok, successIter: ok ? 1 : 0, successByIter: [ok, ok], finalState: new Float64Array(2), finalStateDist: ok ? 1 : 9, visualDist: 0, proprioDist: 0, divVisual: 0, divProprio: 0, planLoss: [[2, loss]], actions: new Float32Array(0) });
  }
  return { key: cellKey(cell), cell, settings: { horizon: 5 }, metrics: summarize(eps, eps.map((_, i) => 99 * i + 1), 2), model_bytes: 1000 * cell.wbits };
}

const base: Cell = { task: 'wall', experiment: 'weight-only', method: 'rtn', wbits: 4, abits: 16, group: -1, act: null, target: 'both' };

describe('study grid', () => {
  it('paper grid has one baseline per task and unique keys; quick grid answers every finding', () => {
    const g = paperGrid({ tasks: ['wall', 'pusht'], groups: [-1, 128, 32] });
    expect(g.filter((c) => c.experiment === 'baseline').length).toBe(2);
    expect(new Set(g.map(cellKey)).size).toBe(g.length);
    // per task: 1 + 4 methods x 4 bits x 3 groups + 4 methods x 4 WA x 2 act + 2 targets x 4 bits
    expect(g.length).toBe(2 * (1 + 48 + 32 + 8));
    const q = quickGrid();
    expect(new Set(q.map((c) => c.experiment))).toEqual(new Set(['baseline', 'weight-only', 'weight-act', 'module']));
  });
  it('shards partition the grid', () => {
    const g = paperGrid({ tasks: ['wall'], groups: [-1, 32] });
    const parts = [0, 1, 2].map((i) => shardCells(g, i, 3));
    expect(parts.flat().map(cellKey).sort()).toEqual(g.map(cellKey).sort());
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('3/3')).toThrow(/--shard/);
    expect(() => parseShard('x')).toThrow(/--shard/);
  });
});

describe('verdicts follow the numbers', () => {
  it('F1: group-wise better at low bits -> supported; worse -> not supported', () => {
    const pc = fakeResult(base, 2);
    const g = fakeResult({ ...base, group: 32 }, 8);
    expect(groupFinding([pc, g]).verdict).toBe('supported');
    expect(groupFinding([fakeResult(base, 8), fakeResult({ ...base, group: 32 }, 2)]).verdict).toBe('not supported');
    expect(groupFinding([pc]).verdict).toBe('no data');
  });
  it('F2: per-token winning some and losing others -> supported (inconsistent); always winning -> not supported', () => {
    const wa: Cell = { ...base, experiment: 'weight-act', abits: 8, act: 'per-tensor' };
    const a = [fakeResult(wa, 5), fakeResult({ ...wa, act: 'per-token' }, 7), fakeResult({ ...wa, wbits: 6, abits: 6 }, 5), fakeResult({ ...wa, wbits: 6, abits: 6, act: 'per-token' }, 3)];
    expect(actFinding(a).verdict).toBe('supported');
    const b = [fakeResult(wa, 5), fakeResult({ ...wa, act: 'per-token' }, 7)];
    expect(actFinding(b).verdict).toBe('not supported');
  });
  it('F3: encoder-only worse than predictor-only -> supported', () => {
    const m: Cell = { ...base, experiment: 'module', target: 'encoder' };
    expect(moduleFinding([fakeResult(m, 1), fakeResult({ ...m, target: 'predictor' }, 9)]).verdict).toBe('supported');
    expect(moduleFinding([fakeResult(m, 9), fakeResult({ ...m, target: 'predictor' }, 1)]).verdict).toBe('not supported');
  });
  it('F4: loss predicts success at 8 bits but not at 3 bits -> supported', () => {
    const hi = fakeResult({ ...base, wbits: 8 }, 5, 10, true);
    const lo = fakeResult({ ...base, wbits: 3 }, 5, 10, false);
    const v = linkFinding([hi, lo]);
    expect(v.evidence).toMatch(/AUC/);
    expect(v.verdict).toBe('supported');
    expect(linkFinding([hi, fakeResult({ ...base, wbits: 3 }, 5, 10, true)]).verdict).toBe('mixed');
  });
  it('the report shows every cell and the verdicts; plots are SVG', () => {
    const rs = [fakeResult({ ...base, experiment: 'baseline', method: 'fp', wbits: 16 }, 9), fakeResult(base, 3), fakeResult({ ...base, group: 32 }, 6)];
    const md = renderReport(rs);
    expect(md).toContain('0.30 [');
    expect(md).toContain('group 32');
    expect(md).toContain('F1 group-wise');
    const plots = renderPlots(rs);
    expect([...plots.keys()]).toContain('wall-success-vs-bits.svg');
    for (const svg of plots.values()) expect(svg.startsWith('<svg')).toBe(true);
  });
});

describe('resumable runner', () => {
  const cells = quickGrid().slice(0, 5);
  let clock = 0;
  const runCell = async (c: Cell): Promise<{ result: CellResult; timing: { key: string; ms_per_cem_step: number; seconds: number } }> => ({ result: fakeResult(c, c.wbits % 7), timing: { key: cellKey(c), ms_per_cem_step: ++clock, seconds: clock } });
  it('a killed run resumes to the same results.jsonl as an uninterrupted run', async () => {
    const full = mkdtempSync(join(tmpdir(), 'qwm-study-'));
    await runStudy({ platform: nodePlatform, dir: full, cells, runCell });
    const cut = mkdtempSync(join(tmpdir(), 'qwm-study-'));
    let n = 0;
    await expect(
      runStudy({ platform: nodePlatform, dir: cut, cells, runCell: async (c) => { if (++n === 3) throw new Error('killed'); return runCell(c); } }),
    ).rejects.toThrow('killed');
    appendFileSync(join(cut, 'results.jsonl'), '{"key":"wall/torn'); // a torn line from a kill during append
    await runStudy({ platform: nodePlatform, dir: cut, cells, runCell });
    expect(readFileSync(join(cut, 'results.jsonl'), 'utf8')).toBe(readFileSync(join(full, 'results.jsonl'), 'utf8'));
  });
  it('shards merged equal the unsharded run', async () => {
    const full = mkdtempSync(join(tmpdir(), 'qwm-study-'));
    const one = await runStudy({ platform: nodePlatform, dir: full, cells, runCell });
    const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'qwm-shard-')));
    for (let i = 0; i < 2; i++) await runStudy({ platform: nodePlatform, dir: dirs[i], cells: shardCells(cells, i, 2), runCell });
    const merged = await mergeResults(nodePlatform, dirs, cells);
    expect(merged).toEqual(one);
    expect(renderReport(merged)).toBe(renderReport(one));
  });
  it('refuses a corrupt results file with the line number', () => {
    expect(() => parseResults(new TextEncoder().encode('not json\n'))).toThrow(/line 1/);
  });
});

describe('cluster emitters', () => {
  it('slurm and k8s name the array size and shard arguments', () => {
    const s = slurmScript({ shards: 4, studyArgs: ['--preset', 'paper'], out: '/shared/qwm' });
    expect(s).toContain('#SBATCH --array=0-3');
    expect(s).toContain('--shard "${SLURM_ARRAY_TASK_ID}/4"');
    const k = k8sManifest({ shards: 4, studyArgs: ['--preset', 'paper'], out: '/shared/qwm' });
    expect(k).toContain('completionMode: Indexed');
    expect(k).toContain('"$(JOB_COMPLETION_INDEX)/4"');
    expect(() => slurmScript({ shards: 0, studyArgs: [], out: 'x' })).toThrow(/shards/);
  });
});
