/**
 * What the planner needs from a world model and from an environment. Kept small so the
 * planner works with the learned model, an oracle (the simulator itself) or a test double,
 * and never imports nn, quant or env.
 */

/** An observation as the environment gives it. */
export interface Observation {
  /** (H, W, 3) RGB, row-major HWC */
  image: Uint8Array;
  /** raw (unnormalised) proprioception, (proprioDim) */
  proprio: Float32Array;
}

/** The latent of one observation: visual patch tokens and the proprio embedding. */
export interface Latent {
  /** (P * Dv) patch tokens of one frame */
  visual: Float32Array;
  /** (Dp) proprio embedding */
  proprio: Float32Array;
}

/** Predicted latents of S samples. Frames are all H+1 frames or only the last one. */
export interface Rollout {
  /** number of frames stored per sample: H+1 ('all') or 1 ('last') */
  frames: number;
  /** (S, frames, P * Dv) */
  visual: Float32Array;
  /** (S, frames, Dp) */
  proprio: Float32Array;
}

export interface PlanningModel {
  /** world-model action size (env action dim x frameskip), e.g. 10 */
  readonly actionDim: number;
  /** P * Dv, elements of one frame's visual latent */
  readonly visualSize: number;
  /** Dp, elements of one proprio embedding */
  readonly proprioSize: number;
  /** Encode one observation (image + raw proprio) into its latent. */
  encode(obs: Observation): Latent;
  /**
   * Roll S normalised action sequences of length H forward from the latent of the current
   * observation (DINO-WM `rollout`).
   * @param z0 latent of the current observation
   * @param actions (S, H, actionDim) normalised actions
   */
  rollout(z0: Latent, actions: Float32Array, S: number, H: number, frames: 'all' | 'last'): Rollout;
}

/** The environment as the MPC loop drives it. States are opaque float vectors. */
export interface PlanEnv {
  readonly name: string;
  /** raw env action size (2 for Wall, PointMaze, PushT) */
  readonly actionDim: number;
  reset(state: Float64Array): void;
  step(action: Float64Array): void;
  state(): Float64Array;
  observe(): Observation;
  isSuccess(state: Float64Array, goal: Float64Array): boolean;
  stateDistance(state: Float64Array, goal: Float64Array): number;
}

/** Per-dimension statistics that map normalised world-model actions to env actions. */
export interface ActionNorm {
  /** (envActionDim) */
  mean: Float32Array;
  /** (envActionDim) */
  std: Float32Array;
}
