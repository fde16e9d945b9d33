import { DEFAULT_CEM, type CemSettings } from '../../src/plan/cem.js';
import { runMpcEpisode, type Planner } from '../../src/plan/mpc.js';
import { episodePlanner, type EpisodeProgram } from '../../src/plan/parallel.js';
import { CemPlanner } from '../../src/plan/planners.js';
import { ValueError } from '../../src/tensor/errors.js';
import { Rng } from '../../src/tensor/rng.js';
import { ExactPointModel, PointEnv, UNIT_NORM } from './support.js';

/** A serialisable point-env evaluation job for the parallel evaluator's tests. */
export interface PointJob {
  frameskip: number;
  cem: CemSettings;
  maxIter: number;
  /** the episode with this seed throws a ValueError (error plumbing tests) */
  failSeed?: number;
  /** the worker thread exits (no error message, a dead worker) on this seed */
  crashSeed?: number;
  /** every MPC iteration of this seed sleeps this long first (a long episode, for core sharing) */
  slow?: { seed: number; ms: number };
}

export const POINT_CEM: CemSettings = { ...DEFAULT_CEM, samples: 30, topk: 5, optSteps: 3, horizon: 2 };

/** start (0, 0), goal drawn from the seed within reach of a few MPC iterations (some succeed, some not) */
export function pointEpisode(seed: number): { start: Float64Array; goal: Float64Array } {
  const r = new Rng(seed);
  return { start: Float64Array.of(0, 0), goal: Float64Array.of(r.uniform() * 80 - 40, r.uniform() * 80 - 40) };
}

export const pointProgram: EpisodeProgram<PointJob> = (job) => {
  const env = new PointEnv();
  const model = new ExactPointModel(job.frameskip);
  const planner = new CemPlanner(model, job.cem, { mode: 'last', alpha: 0, base: 2 });
  return (spec) => {
    if (spec.seed === job.failSeed) throw new ValueError('pointProgram', `refusing seed ${spec.seed}`);
    if (spec.seed === job.crashSeed) process.exit(3); // in a worker thread: ends only the worker
    const acc = { ms: 0, steps: 0, threads: 0 };
    const timed = episodePlanner(planner, acc);
    const sleepMs = job.slow?.seed === spec.seed ? job.slow.ms : 0;
    const sleeper = new Int32Array(new SharedArrayBuffer(4)); // Atomics.wait on it = a synchronous sleep
    const paced: Planner = {
      horizon: timed.horizon,
      plan: (...a) => {
        if (sleepMs > 0) Atomics.wait(sleeper, 0, 0, sleepMs);
        return timed.plan(...a);
      },
    };
    const result = runMpcEpisode(env, model, paced, UNIT_NORM, spec.start, spec.goal, { maxIter: job.maxIter }, (iter) => Rng.derive(spec.seed, iter));
    return { result, planMs: acc.ms, planSteps: acc.steps, planThreads: acc.threads };
  };
};
