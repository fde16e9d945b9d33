import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import type { Planner } from './mpc.js';
import type { ObjectiveSettings } from './objective.js';
import type { Latent, PlanningModel } from './types.js';

/** A world model that can differentiate the planning objective w.r.t. the actions. */
export interface DifferentiableModel extends PlanningModel {
  /**
   * Objective of S action sequences and its gradient.
   * @param actions (S, H, A) normalised
   * @returns cost (S) and d(sum of costs)/d actions (S, H, A)
   */
  costAndGrad(z0: Latent, goal: Latent, actions: Float32Array, S: number, H: number, obj: ObjectiveSettings): { cost: Float64Array; grad: Float32Array };
}

/** DINO-WM's GD planner settings (conf/planner/gd.yaml): lr 1, 1000 steps, noise std 0.003. */
export interface GdSettings {
  horizon: number;
  steps: number;
  lr: number;
  noise: number;
}

export const DEFAULT_GD: GdSettings = { horizon: 5, steps: 1000, lr: 1, noise: 0.003 };

/**
 * Gradient-descent planner (reference/quantwm-dinowm-spec.md C.4): actions start ~ N(0, 1);
 * each step a <- a - lr · d cost / d a + N(0, noise²). Returns the last iterate.
 */
export class GdPlanner implements Planner {
  readonly horizon: number;
  constructor(
    readonly model: DifferentiableModel,
    readonly settings: GdSettings,
    readonly objective: ObjectiveSettings,
  ) {
    for (const k of ['horizon', 'steps'] as const) {
      if (!Number.isInteger(settings[k]) || settings[k] < 1) throw new ValueError('gd', `${k} must be a positive integer, got ${settings[k]}`);
    }
    if (!(settings.lr > 0) || !(settings.noise >= 0)) throw new ValueError('gd', `lr must be > 0 and noise >= 0`);
    this.horizon = settings.horizon;
  }

  plan(z0: Latent, goal: Latent, rng: Rng): { plan: Float32Array; lossPerStep: number[] } {
    const { horizon: H, steps, lr, noise } = this.settings;
    const A = this.model.actionDim;
    const a = new Float32Array(H * A);
    for (let i = 0; i < a.length; i++) a[i] = rng.normal();
    const lossPerStep: number[] = [];
    for (let s = 0; s < steps; s++) {
      const { cost, grad } = this.model.costAndGrad(z0, goal, a, 1, H, this.objective);
      lossPerStep.push(cost[0]);
      for (let i = 0; i < a.length; i++) a[i] = a[i] - lr * grad[i] + noise * rng.normal();
    }
    return { plan: a, lossPerStep };
  }
}
