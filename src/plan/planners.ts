import { Rng } from '../tensor/rng.js';
import { cemPlan, checkCem, type CemSettings } from './cem.js';
import type { Planner } from './mpc.js';
import type { ObjectiveSettings } from './objective.js';
import type { Latent, PlanningModel } from './types.js';

/** CEM as an MPC sub-planner. DINO-WM's warm start is the unexecuted tail of the last plan: empty, since the whole plan is executed. */
export class CemPlanner implements Planner {
  readonly horizon: number;
  constructor(
    readonly model: PlanningModel,
    readonly settings: CemSettings,
    readonly objective: ObjectiveSettings,
  ) {
    checkCem(settings);
    this.horizon = settings.horizon;
  }
  plan(z0: Latent, goal: Latent, rng: Rng): { plan: Float32Array; lossPerStep: number[] } {
    return cemPlan(this.model, z0, goal, this.settings, this.objective, rng);
  }
}
