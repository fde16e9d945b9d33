import { DEFAULT_CEM, type CemSettings } from '../../src/plan/cem.js';
import { runMpcEpisode } from '../../src/plan/mpc.js';
import type { EpisodeProgram } from '../../src/plan/parallel.js';
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
    const result = runMpcEpisode(env, model, planner, UNIT_NORM, spec.start, spec.goal, { maxIter: job.maxIter }, (iter) => Rng.derive(spec.seed, iter));
    return { result, planMs: 0, planSteps: result.planLoss.flat().length };
  };
};
