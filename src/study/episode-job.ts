/**
 * The evaluation job that `quantwm plan` and the study ship to episode workers: everything an
 * MPC episode needs, as plain structured-cloneable data (the model as .qwm bytes, float or
 * quantized; the env name; planner settings), and the program that turns it into an episode
 * runner. The same program runs in the calling thread for jobs = 1, so results do not depend on
 * the worker count. Entry module for workers: ./episode-worker.ts.
 */
import { makeEnv } from '../env/registry.js';
import type { EnvName } from '../env/types.js';
import type { WorldModel } from '../nn/world-model.js';
import type { CemSettings } from '../plan/cem.js';
import { DEFAULT_GD, GdPlanner, type GdSettings } from '../plan/gd.js';
import { runMpcEpisode, type MpcSettings, type Planner } from '../plan/mpc.js';
import type { ObjectiveSettings } from '../plan/objective.js';
import { OracleModel } from '../plan/oracle.js';
import { episodePlanner, type EpisodeProgram } from '../plan/parallel.js';
import { CemPlanner } from '../plan/planners.js';
import type { ActionNorm, PlanningModel } from '../plan/types.js';
import { loadModel } from '../quant/model-file.js';
import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { oracleFeatures } from './task.js';

export interface EpisodeJob {
  env: EnvName;
  /** side of the env's images (the model's image size) */
  imageSize: number;
  /** .qwm bytes (float or quantized); null only for the oracle without a model */
  modelBytes: Uint8Array | null;
  /** how quantized Linears execute (default 'integer') */
  exec?: 'integer' | 'fake';
  /** plan with the true dynamics (OracleModel) instead of the model */
  oracle: boolean;
  planner: 'cem' | 'gd';
  cem: CemSettings;
  gd?: GdSettings;
  objective: ObjectiveSettings;
  mpc: MpcSettings;
  /** action statistics mapping world-model actions to env actions */
  norm: ActionNorm;
  /** world-model action size for the oracle without a model (env action dim x frameskip) */
  oracleActionDim?: number;
}

/** Where the worker entry lives, next to this module (.ts when running from sources, .js when compiled). */
export const EPISODE_WORKER_URL: URL = new URL(import.meta.url.endsWith('.ts') ? './episode-worker.ts' : './episode-worker.js', import.meta.url);

/** The model a job describes (loaded from its bytes), or null for a model-less oracle job. */
export function jobModel(job: EpisodeJob): WorldModel | null {
  return job.modelBytes ? loadModel(job.modelBytes, { file: '<job model>', exec: job.exec ?? 'integer' }).model : null;
}

/**
 * Build the episode runner: the model from its bytes, the env, the planner; each episode then
 * runs DINO-WM's MPC loop with noise Rng.derive(seed, iter), exactly as `evaluate` does.
 */
export const episodeProgram: EpisodeProgram<EpisodeJob> = (job) => {
  const env = makeEnv(job.env, { imageSize: job.imageSize });
  const wm = jobModel(job);
  let model: PlanningModel;
  if (job.oracle) {
    model = new OracleModel(env, makeEnv(job.env, { imageSize: job.imageSize }), wm?.actionDim ?? job.oracleActionDim ?? 10, job.norm, oracleFeatures(job.env));
  } else if (wm) model = wm;
  else throw new ValueError('episodeProgram', 'a job without model bytes must be an oracle job');
  let planner: Planner;
  if (job.planner === 'gd') {
    if (job.oracle || !wm) throw new ValueError('episodeProgram', 'the gd planner needs a differentiable world model (model bytes, no oracle)');
    planner = new GdPlanner(wm, job.gd ?? { ...DEFAULT_GD, horizon: job.cem.horizon }, job.objective);
  } else planner = new CemPlanner(model, job.cem, job.objective);
  return (spec) => {
    const acc = { ms: 0, steps: 0, threads: 0 };
    const result = runMpcEpisode(env, model, episodePlanner(planner, acc), job.norm, spec.start, spec.goal, job.mpc, (iter) => Rng.derive(spec.seed, iter));
    return { result, planMs: acc.ms, planSteps: acc.steps, planThreads: acc.threads };
  };
};
