import type { ActionNorm, Latent, Observation, PlanEnv, PlanningModel, Rollout } from '../../src/plan/types.js';
import { replayPlan } from '../../src/plan/mpc.js';

/** A 2-D point env: p += a, success within 0.5. Small enough to reason about by hand. */
export class PointEnv implements PlanEnv {
  readonly name = 'point';
  readonly actionDim = 2;
  p = new Float64Array(2);
  steps = 0;
  reset(state: Float64Array): void {
    this.p = state.slice();
  }
  step(a: Float64Array): void {
    this.p[0] += a[0];
    this.p[1] += a[1];
    this.steps++;
  }
  state(): Float64Array {
    return this.p.slice();
  }
  observe(): Observation {
    return { image: new Uint8Array(3), proprio: Float32Array.from(this.p) };
  }
  isSuccess(s: Float64Array, g: Float64Array): boolean {
    return this.stateDistance(s, g) < 0.5;
  }
  stateDistance(s: Float64Array, g: Float64Array): number {
    return Math.hypot(s[0] - g[0], s[1] - g[1]);
  }
}

export const UNIT_NORM: ActionNorm = { mean: new Float32Array(2), std: Float32Array.of(1, 1) };

/** The exact world model of PointEnv: latent = position, rollout by the same arithmetic. */
export class ExactPointModel implements PlanningModel {
  readonly actionDim: number;
  readonly visualSize = 2;
  readonly proprioSize = 0;
  private readonly sim = new PointEnv();
  calls = 0;
  constructor(readonly frameskip: number) {
    this.actionDim = 2 * frameskip;
  }
  encode(obs: Observation): Latent {
    return { visual: obs.proprio.slice(), proprio: new Float32Array(0) };
  }
  rollout(z0: Latent, actions: Float32Array, S: number, H: number, frames: 'all' | 'last'): Rollout {
    this.calls++;
    const A = this.actionDim;
    const nf = frames === 'all' ? H + 1 : 1;
    const visual = new Float32Array(S * nf * 2);
    const start = Float64Array.from(z0.visual);
    for (let s = 0; s < S; s++) {
      for (let h = frames === 'all' ? 0 : H; h <= H; h++) {
        const st = replayPlan(this.sim, start, actions.subarray(s * H * A, (s * H + h) * A), A, UNIT_NORM);
        visual.set(Float32Array.from(st), (s * nf + (frames === 'all' ? h : 0)) * 2);
      }
    }
    return { frames: nf, visual, proprio: new Float32Array(0) };
  }
}
