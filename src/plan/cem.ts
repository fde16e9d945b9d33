import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { objectiveCosts, type ObjectiveSettings } from './objective.js';
import type { Latent, PlanningModel } from './types.js';

/** CEM settings (reference/quantwm-dinowm-spec.md C.2). */
export interface CemSettings {
  horizon: number;
  samples: number;
  topk: number;
  varScale: number;
  optSteps: number;
}

export const DEFAULT_CEM: CemSettings = { horizon: 5, samples: 300, topk: 30, varScale: 1, optSteps: 10 };

export interface CemResult {
  /** (H, A) the final mean: the plan */
  plan: Float32Array;
  /** objective of the best sample at each optimisation step (the paper's planning loss) */
  lossPerStep: number[];
  /** (H, A) final per-dimension std */
  std: Float32Array;
}

export function checkCem(s: CemSettings): void {
  const ints: (keyof CemSettings)[] = ['horizon', 'samples', 'topk', 'optSteps'];
  for (const k of ints) {
    if (!Number.isInteger(s[k]) || s[k] < 1) throw new ValueError('cem', `${k} must be a positive integer, got ${s[k]}`);
  }
  if (s.topk > s.samples) throw new ValueError('cem', `topk ${s.topk} > samples ${s.samples}`);
  if (s.topk < 2) throw new ValueError('cem', `topk must be >= 2 for an unbiased std, got ${s.topk}`);
  if (!(s.varScale > 0)) throw new ValueError('cem', `varScale must be > 0, got ${s.varScale}`);
}

/**
 * Cross-entropy method in normalised action space, as DINO-WM's CEMPlanner for one episode:
 *   mu = warm start (or 0), sigma = varScale
 *   repeat optSteps: A = mu + sigma * N(0,1) (S samples, sample 0 = mu), cost = objective(rollout(z0, A), goal)
 *                    elites = the topk cheapest (stable: ties keep the lower index); mu = mean, sigma = unbiased std
 * The current observation is encoded once by the caller; each step is one batched rollout of S samples.
 * @param z0 latent of the current observation
 * @param goal latent of the goal observation
 * @param rng source of the sample noise (the caller derives it per episode and MPC iteration)
 * @param warm (h, A) actions to start mu from (h <= H); the rest starts at 0
 * @param onStep sees every step's samples (S, H, A), their costs and the ranking (cheapest first),
 *   e.g. to record the elites a model's errors attract (`quantwm data mine`)
 */
export function cemPlan(
  model: PlanningModel,
  z0: Latent,
  goal: Latent,
  s: CemSettings,
  obj: ObjectiveSettings,
  rng: Rng,
  warm?: Float32Array,
  onStep?: (actions: Float32Array, cost: Float64Array, order: Int32Array) => void,
): CemResult {
  checkCem(s);
  const H = s.horizon;
  const A = model.actionDim;
  const HA = H * A;
  const S = s.samples;
  const mu = new Float32Array(HA);
  if (warm) {
    if (warm.length > HA || warm.length % A !== 0) throw new ValueError('cem', `warm start of ${warm.length} values for horizon ${H} x ${A}`);
    mu.set(warm);
  }
  const sigma = new Float32Array(HA).fill(s.varScale);
  const actions = new Float32Array(S * HA);
  const order = new Int32Array(S);
  const lossPerStep: number[] = [];
  for (let step = 0; step < s.optSteps; step++) {
    actions.set(mu, 0);
    for (let i = 1; i < S; i++) {
      const o = i * HA;
      for (let j = 0; j < HA; j++) actions[o + j] = rng.normal() * sigma[j] + mu[j];
    }
    const r = model.rollout(z0, actions, S, H, obj.mode === 'last' ? 'last' : 'all');
    const cost = objectiveCosts(r, goal, obj);
    // A broken (e.g. very low-bit) model may produce NaN: rank it last, never let it win.
    for (let i = 0; i < S; i++) if (Number.isNaN(cost[i])) cost[i] = Infinity;
    for (let i = 0; i < S; i++) order[i] = i;
    order.sort((a, b) => cost[a] - cost[b] || a - b);
    lossPerStep.push(cost[order[0]]);
    onStep?.(actions, cost, order);
    const K = s.topk;
    for (let j = 0; j < HA; j++) {
      let m = 0;
      for (let e = 0; e < K; e++) m += actions[order[e] * HA + j];
      m /= K;
      let v = 0;
      for (let e = 0; e < K; e++) {
        const d = actions[order[e] * HA + j] - m;
        v += d * d;
      }
      mu[j] = m;
      sigma[j] = Math.sqrt(v / (K - 1));
    }
  }
  return { plan: mu, lossPerStep, std: sigma };
}
