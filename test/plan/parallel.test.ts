import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/plan/evaluator.js';
import { EpisodeError, evaluateParallel, type EpisodeOutcome } from '../../src/plan/parallel.js';
import { CemPlanner } from '../../src/plan/planners.js';
import { nodeModuleWorkers } from '../../src/platform/module-workers-node.js';
import { ValueError } from '../../src/tensor/errors.js';
import { POINT_CEM, pointEpisode, pointProgram, type PointJob } from './point-job.js';
import { ExactPointModel, PointEnv, UNIT_NORM } from './support.js';

const ENTRY = new URL('./point-worker.ts', import.meta.url);
const task = { sampleEpisode: pointEpisode };
const settings = { episodes: 7, seed: 99, offset: 1, mpc: { maxIter: 3 } };
const job: PointJob = { frameskip: 2, cem: POINT_CEM, maxIter: 3 };
const run = (jobs: number, j: PointJob = job, onEpisode?: (n: number, o: EpisodeOutcome) => void) =>
  evaluateParallel(task, settings, { job: j, jobs, program: pointProgram, entry: ENTRY, workers: nodeModuleWorkers, onEpisode });

describe('evaluateParallel (point env, exact model)', () => {
  it('jobs 1, 2, 3 give byte-identical metrics JSON, equal to the serial evaluate()', { timeout: 60_000 }, async () => {
    const one = await run(1);
    // the episodes are not all alike: some succeed, some do not, so an ordering mix-up would show
    const wins = one.metrics.episodes.filter((e) => e.success).length;
    expect(wins).toBeGreaterThan(0);
    expect(wins).toBeLessThan(settings.episodes);
    const json = JSON.stringify(one.metrics);
    for (const jobs of [2, 3]) {
      const seen: number[] = [];
      const r = await run(jobs, job, (n) => seen.push(n));
      expect(JSON.stringify(r.metrics)).toBe(json);
      expect(r.outcomes.map((o) => o.result)).toEqual(one.outcomes.map((o) => o.result));
      // progress: every episode reported exactly once, in completion order
      expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    }
    const model = new ExactPointModel(2);
    const serial = evaluate({ env: new PointEnv(), norm: UNIT_NORM, sampleEpisode: pointEpisode }, model, new CemPlanner(model, POINT_CEM, { mode: 'last', alpha: 0, base: 2 }), settings);
    expect(JSON.stringify(serial)).toBe(json);
  });

  it('an episode that throws surfaces as EpisodeError naming the episode, its seed and the cause (jobs 1 and 2)', { timeout: 60_000 }, async () => {
    const bad = { ...job, failSeed: 99 * 4 + 1 };
    for (const jobs of [1, 2]) {
      const e = await run(jobs, bad).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(EpisodeError);
      const err = e as EpisodeError;
      expect([err.episode, err.seed, err.causeCode, err.code]).toEqual([4, 397, 'E_VALUE', 'E_EPISODE']);
      expect(err.message).toMatch(/^episode 4 \(seed 397\): pointProgram: refusing seed 397$/);
    }
  });

  it('a worker that dies mid-episode, or cannot load its entry, is an EpisodeError too', { timeout: 60_000 }, async () => {
    const e = (await run(2, { ...job, crashSeed: 99 * 2 + 1 }).then(() => null, (x: unknown) => x)) as EpisodeError;
    expect(e).toBeInstanceOf(EpisodeError);
    expect([e.episode, e.causeCode]).toEqual([2, 'E_WORKER']);
    expect(e.message).toMatch(/exited with code 3/);
    const missing = new URL('./no-such-worker.ts', import.meta.url);
    const f = (await evaluateParallel(task, settings, { job, jobs: 2, program: pointProgram, entry: missing, workers: nodeModuleWorkers }).then(() => null, (x: unknown) => x)) as EpisodeError;
    expect(f).toBeInstanceOf(EpisodeError);
    expect([0, 1]).toContain(f.episode);
    expect(f.message).toMatch(/no-such-worker/);
  });

  it('a worker left without episodes lends its core: the last long episode plans on 2 kernel threads, results unchanged', { timeout: 60_000 }, async () => {
    const one = await run(1);
    expect(one.outcomes.every((o) => o.planThreads === 1)).toBe(true);
    // the last failed episode runs all 3 MPC iterations; made slow (1 s before each plan), its last
    // iteration starts 3 s in, long after the other workers (started with it, loaded in parallel)
    // have run every other episode (milliseconds each) and gone idle
    const n = one.metrics.episodes.map((e) => e.success).lastIndexOf(false);
    expect(n).toBeGreaterThanOrEqual(0);
    const slow = { ...job, slow: { seed: one.metrics.episodes[n].seed, ms: 1000 } };
    const two = await run(2, slow);
    expect(two.outcomes[n].planThreads).toBe(2);
    expect(two.outcomes.map((o) => o.result)).toEqual(one.outcomes.map((o) => o.result));
    // 3 workers: 2 still running share floor(3 / 2) = 1 thread each; the last one running gets all 3
    const three = await run(3, slow);
    expect(three.outcomes[n].planThreads).toBe(3);
    expect(three.outcomes.map((o) => o.result)).toEqual(one.outcomes.map((o) => o.result));
  });

  it('rejects bad jobs counts and a parallel run without workers', async () => {
    await expect(run(0)).rejects.toThrow(ValueError);
    await expect(run(1.5)).rejects.toThrow(/jobs must be a positive integer/);
    await expect(evaluateParallel(task, settings, { job, jobs: 2, program: pointProgram })).rejects.toThrow(/needs a module-worker factory/);
    await expect(evaluateParallel(task, { ...settings, episodes: 0 }, { job, jobs: 1, program: pointProgram })).rejects.toThrow(/episodes must be >= 1/);
  });
});
