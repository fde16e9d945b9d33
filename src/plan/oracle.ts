import { ValueError } from '../tensor/errors.js';
import { replayPlan } from './mpc.js';
import type { ActionNorm, Latent, Observation, PlanEnv, PlanningModel, Rollout } from './types.js';

/**
 * The environment itself behind the world-model interface: rollouts are simulations and the
 * latent is a feature vector of the true state (e.g. the agent position). Planning with it
 * measures the planner's ceiling, separating planner failures from model failures.
 *
 * `encode` ignores the image and reads the state of `source`, the env the MPC loop drives
 * (runMpcEpisode always encodes right after setting that env's state).
 */
export class OracleModel implements PlanningModel {
  readonly visualSize: number;
  readonly proprioSize = 0;
  constructor(
    /** the env the MPC loop drives, read for the current state */
    private readonly source: PlanEnv,
    /** a second instance of the same env, used for simulated rollouts */
    private readonly sim: PlanEnv,
    readonly actionDim: number,
    private readonly norm: ActionNorm,
    /** true-state features the cost compares (e.g. position only) */
    private readonly features: (state: Float64Array) => Float32Array,
  ) {
    if (source === sim) throw new ValueError('OracleModel', 'sim must be a separate env instance');
    this.visualSize = features(source.state()).length;
  }

  /** latent -> the full state it was encoded from (rollouts need the state, not only its features) */
  private readonly states = new WeakMap<Float32Array, Float64Array>();

  encode(_obs: Observation): Latent {
    const state = this.source.state().slice();
    const visual = this.features(state);
    this.states.set(visual, state);
    return { visual, proprio: new Float32Array(0) };
  }

  /** Simulate every sample from the state behind z0 (which must come from this.encode). */
  rollout(z0: Latent, actions: Float32Array, S: number, H: number, frames: 'all' | 'last'): Rollout {
    const start = this.states.get(z0.visual);
    if (!start) throw new ValueError('OracleModel.rollout', 'latent was not produced by this oracle');
    const A = this.actionDim;
    const V = this.visualSize;
    const nf = frames === 'all' ? H + 1 : 1;
    const visual = new Float32Array(S * nf * V);
    for (let s = 0; s < S; s++) {
      if (frames === 'all') {
        visual.set(z0.visual, s * nf * V);
        for (let h = 1; h <= H; h++) {
          const st = replayPlan(this.sim, start, actions.subarray(s * H * A, (s * H + h) * A), A, this.norm);
          visual.set(this.features(st), (s * nf + h) * V);
        }
      } else {
        const st = replayPlan(this.sim, start, actions.subarray(s * H * A, (s + 1) * H * A), A, this.norm);
        visual.set(this.features(st), s * V);
      }
    }
    return { frames: nf, visual, proprio: new Float32Array(0) };
  }
}
