import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { mean, wilson } from './metrics.js';
import { runMpcEpisode, type EpisodeResult, type MpcSettings, type Planner } from './mpc.js';
import type { ActionNorm, PlanEnv, PlanningModel } from './types.js';

/** A task as the evaluator needs it: the env, its start/goal sampler and the action statistics. */
export interface EvalTask {
  env: PlanEnv;
  norm: ActionNorm;
  /** start and goal of the episode with this seed (DINO-WM: np.random.RandomState(seed)) */
  sampleEpisode(seed: number): { start: Float64Array; goal: Float64Array };
}

export interface EvalSettings {
  episodes: number;
  /** base seed: episode n uses seed*n + offset (QuantWM: 99, offset 1 for evaluation, 2 for calibration) */
  seed: number;
  offset: number;
  mpc: MpcSettings;
}

export const DEFAULT_EVAL: EvalSettings = { episodes: 50, seed: 99, offset: 1, mpc: { maxIter: 50 } };

export interface EvalResult {
  success_rate: number;
  success_ci: [number, number];
  /** fraction of episodes solved within k+1 MPC iterations */
  success_by_iter: number[];
  mean_state_dist: number;
  mean_visual_dist: number;
  mean_proprio_dist: number;
  mean_div_visual_emb: number;
  mean_div_proprio_emb: number;
  /** mean over episodes of the best-sample objective at each CEM step of the first MPC iteration */
  plan_loss_by_step: number[];
  episodes: {
    seed: number;
    success: boolean;
    success_iter: number;
    final_state_dist: number;
    /** best objective at the last CEM step of the first MPC iteration (paper Fig. 3) */
    plan_loss: number;
  }[];
}

export function episodeSeed(s: EvalSettings, n: number): number {
  return s.seed * n + s.offset;
}

/**
 * Run the DINO-WM evaluation: `episodes` MPC episodes, each seeded by seed*n + offset for its
 * start/goal and by Rng.derive(episodeSeed, iter) for the planner noise, so a result depends only
 * on the seed (never on episode order or thread count).
 */
export function evaluate(
  task: EvalTask,
  model: PlanningModel,
  planner: Planner,
  s: EvalSettings,
  onEpisode?: (n: number, r: EpisodeResult) => void,
): EvalResult {
  if (!Number.isInteger(s.episodes) || s.episodes < 1) throw new ValueError('evaluate', `episodes must be >= 1, got ${s.episodes}`);
  const results: EpisodeResult[] = [];
  const seeds: number[] = [];
  for (let n = 0; n < s.episodes; n++) {
    const seed = episodeSeed(s, n);
    const { start, goal } = task.sampleEpisode(seed);
    const r = runMpcEpisode(task.env, model, planner, task.norm, start, goal, s.mpc, (iter) => Rng.derive(seed, iter));
    results.push(r);
    seeds.push(seed);
    onEpisode?.(n, r);
  }
  return summarize(results, seeds, s.mpc.maxIter);
}

export function summarize(results: EpisodeResult[], seeds: number[], maxIter: number): EvalResult {
  const n = results.length;
  const wins = results.filter((r) => r.success).length;
  const byIter: number[] = [];
  for (let k = 0; k < maxIter; k++) byIter.push(results.filter((r) => r.successByIter[k]).length / n);
  const steps = Math.max(0, ...results.map((r) => r.planLoss[0]?.length ?? 0));
  const planLossByStep: number[] = [];
  for (let k = 0; k < steps; k++) planLossByStep.push(mean(results.map((r) => r.planLoss[0][k])));
  return {
    success_rate: wins / n,
    success_ci: wilson(wins, n),
    success_by_iter: byIter,
    mean_state_dist: mean(results.map((r) => r.finalStateDist)),
    mean_visual_dist: mean(results.map((r) => r.visualDist)),
    mean_proprio_dist: mean(results.map((r) => r.proprioDist)),
    mean_div_visual_emb: mean(results.map((r) => r.divVisual)),
    mean_div_proprio_emb: mean(results.map((r) => r.divProprio)),
    plan_loss_by_step: planLossByStep,
    episodes: results.map((r, i) => ({
      seed: seeds[i],
      success: r.success,
      success_iter: r.successIter,
      final_state_dist: r.finalStateDist,
      plan_loss: r.planLoss[0][r.planLoss[0].length - 1],
    })),
  };
}
