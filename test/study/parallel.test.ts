import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadWorldModel } from '../../src/nn/model-file.js';
import { evaluate } from '../../src/plan/evaluator.js';
import { EpisodeError, evaluateParallel } from '../../src/plan/parallel.js';
import { CemPlanner } from '../../src/plan/planners.js';
import { nodeModuleWorkers } from '../../src/platform/module-workers-node.js';
import { nodeWorkers } from '../../src/platform/workers-node.js';
import { applyResult, quantizeTargets } from '../../src/quant/model.js';
import { saveQuantizedModel } from '../../src/quant/model-file.js';
import { cellConfig } from '../../src/study/cells.js';
import { EPISODE_WORKER_URL, episodeProgram, type EpisodeJob } from '../../src/study/episode-job.js';
import { defaultSettings, makeTask } from '../../src/study/task.js';
import { setThreads, shutdownThreads } from '../../src/tensor/threads/index.js';

/**
 * Episodes in parallel on the shipped Wall model: a small evaluation (3 episodes, 2 MPC
 * iterations, 2 CEM steps of 20 samples) gives the same per-episode JSON with jobs 1 (in this
 * thread, on 2 kernel threads) and jobs 2 (two single-threaded workers), for the float model and
 * an RTN W4 (per-channel, integer kernels) model; and equals the in-memory serial evaluate().
 */
const bytes = new Uint8Array(readFileSync('weights/wall.qwm'));
const s = defaultSettings('wall');
s.cem = { ...s.cem, samples: 20, topk: 5, optSteps: 2 };
s.eval = { ...s.eval, episodes: 3, mpc: { maxIter: 2 } };

function setup(modelBytes: Uint8Array) {
  const wm = loadWorldModel(bytes).model;
  const norm = { mean: wm.stats.actionMean, std: wm.stats.actionStd };
  const task = makeTask('wall', wm.config.imageSize, norm);
  const job: EpisodeJob = { env: 'wall', imageSize: wm.config.imageSize, modelBytes, oracle: false, planner: 'cem', cem: s.cem, objective: s.objective, mpc: s.eval.mpc, norm };
  const run = (jobs: number, j: EpisodeJob = job) => evaluateParallel(task, s.eval, { job: j, jobs, program: episodeProgram, entry: EPISODE_WORKER_URL, workers: nodeModuleWorkers });
  return { wm, task, job, run };
}

function rtnW4(): { qbytes: Uint8Array; inMemory: ReturnType<typeof loadWorldModel>['model'] } {
  const m = loadWorldModel(bytes).model;
  const cell = { task: 'wall', experiment: 'weight-only', method: 'rtn', wbits: 4, abits: 16, group: -1, act: null, target: 'both' } as const;
  const res = quantizeTargets(m, 'rtn', cellConfig(cell, 'flat'), null);
  const qbytes = saveQuantizedModel(m, res);
  applyResult(m, res, 'integer');
  return { qbytes, inMemory: m };
}

describe('episodes in parallel on the shipped Wall model', () => {
  it('float and RTN W4: jobs 1 (2 kernel threads) and jobs 2 give identical per-episode JSON, equal to the in-memory serial evaluate', { timeout: 240_000 }, async () => {
    const q = rtnW4();
    const seen: string[] = [];
    for (const [name, modelBytes, inMemory] of [['float', bytes, null], ['rtn W4', q.qbytes, q.inMemory]] as const) {
      const { wm, task, run } = setup(modelBytes);
      setThreads(2, nodeWorkers);
      let one;
      try {
        one = await run(1);
      } finally {
        shutdownThreads();
      }
      const two = await run(2);
      expect(JSON.stringify(two.metrics), name).toBe(JSON.stringify(one.metrics));
      expect(two.outcomes.map((o) => o.result), name).toEqual(one.outcomes.map((o) => o.result));
      expect(one.metrics.episodes.map((e) => e.seed)).toEqual([1, 100, 199]);
      const model = inMemory ?? wm;
      const serial = evaluate(task, model, new CemPlanner(model, s.cem, s.objective), s.eval);
      expect(JSON.stringify(serial), name).toBe(JSON.stringify(one.metrics));
      seen.push(JSON.stringify(one.metrics));
    }
    // the quantized model really plans differently from the float one (else the comparison above proves little)
    expect(seen[1]).not.toBe(seen[0]);
  });

  it('corrupt model bytes fail as an EpisodeError naming an episode and the format error', { timeout: 60_000 }, async () => {
    const bad = bytes.slice(0, 1000);
    const { job, run } = setup(bad);
    for (const jobs of [1, 2]) {
      const e = (await run(jobs, job).then(() => null, (x: unknown) => x)) as EpisodeError;
      expect(e).toBeInstanceOf(EpisodeError);
      expect(jobs === 1 ? [0] : [0, 1]).toContain(e.episode);
      expect(e.causeCode).toMatch(/^E_/);
      expect(e.causeCode).not.toBe('E_WORKER');
      expect(e.message).toMatch(/^episode [01] \(seed (1|100)\): /);
    }
  });
});
