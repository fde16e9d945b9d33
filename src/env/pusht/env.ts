/**
 * PushT (DINO-WM `PushTEnv` with `with_velocity=True`, relative actions, action_scale 100).
 *
 * State (7) = [agent_x, agent_y, block_x, block_y, block_angle, agent_vx, agent_vy] (px, y down;
 * block_x/y is the body origin = centre of the bar's top edge). Proprio (4) = agent xy + agent v.
 * Action (2): PD target offset / 100, unclipped. Success: ||goal[0:4] - s[0:4]|| < 20 and wrapped
 * |angle difference| < pi/9. Physics in ./physics.ts, drawing in ./render.ts.
 *
 * `reset(state)` sets the state exactly (the reference additionally runs one 0.01 s physics
 * step; quantwm does not, so `replay(states[t], actions[t:])` reproduces a stored trajectory).
 */
import type { Rng } from '../../tensor/rng.js';
import { ValueError } from '../../tensor/errors.js';
import { wrapAngle } from '../trig.js';
import { checkSize, checkVec, readParams, replayActions, type Env, type NumVec, type Observation, type StartGoal } from '../types.js';
import { PUSHT, agentOverlap, pose, wallOverlap } from './geometry.js';
import { pushtStep, type StepContacts } from './physics.js';
import { renderPushT } from './render.js';
import { ScriptedPusher } from './pusher.js';

export const PUSHT_DEFAULTS = { imageSize: 224 } as const;

/** Angle difference wrapped into [-pi, pi). */
export function pushtAngleError(state: NumVec, goal: NumVec): number {
  return wrapAngle(goal[4] - state[4]);
}

/**
 * The reference's random state (`reset` without a given state): agent randint(50, 450)^2,
 * block randint(100, 400)^2, angle N(0,1) 2pi - pi, zero velocity. Rejection-sampled so that the
 * agent does not overlap the block and the block lies inside the arena (the reference would
 * resolve such overlaps in its settling step).
 */
export function samplePushTState(rng: Rng): Float64Array {
  for (let tries = 0; tries < 10000; tries++) {
    const ax = 50 + rng.int(400);
    const ay = 50 + rng.int(400);
    const bx = 100 + rng.int(300);
    const by = 100 + rng.int(300);
    const angle = rng.normal() * 2 * Math.PI - Math.PI;
    const p = pose(bx, by, angle);
    if (agentOverlap(p, ax, ay) > 0 || wallOverlap(p) > 0) continue;
    return Float64Array.of(ax, ay, bx, by, angle, 0, 0);
  }
  throw new ValueError('samplePushTState', 'rejection sampling failed 10000 times');
}

export class PushTEnv implements Env {
  readonly name = 'pusht' as const;
  readonly stateDim = 7;
  readonly actionDim = 2;
  readonly proprioDim = 4;
  readonly imageSize: number;
  readonly params: Readonly<Record<string, number>>;
  private s = Float64Array.of(256, 400, 256, 300, 0, 0, 0);
  /** substeps of the last step in which the agent touched the block (0..10) */
  lastContactSubsteps = 0;
  /** substeps of the last step in which the block touched an arena wall (0..10) */
  lastWallSubsteps = 0;
  private readonly contacts: StepContacts = { agent: 0, wall: 0 };

  constructor(params?: Readonly<Record<string, number>>) {
    const p = readParams('PushTEnv', params, PUSHT_DEFAULTS);
    checkSize('PushTEnv', p.imageSize);
    this.params = Object.freeze(p);
    this.imageSize = p.imageSize;
  }

  reset(state: NumVec): Float64Array {
    checkVec('pusht.reset', 'state', state, 7);
    this.s = Float64Array.from(state);
    return this.state();
  }

  step(action: Float64Array | Float32Array | number[]): Float64Array {
    checkVec('pusht.step', 'action', action, 2);
    pushtStep(this.s, action[0], action[1], this.contacts);
    this.lastContactSubsteps = this.contacts.agent;
    this.lastWallSubsteps = this.contacts.wall;
    return this.state();
  }

  state(): Float64Array {
    return this.s.slice();
  }

  proprioOf(state: NumVec): Float32Array {
    checkVec('pusht.proprioOf', 'state', state, 7);
    return Float32Array.of(state[0], state[1], state[5], state[6]);
  }

  observe(): Observation {
    return { image: this.render(this.s, this.imageSize), proprio: this.proprioOf(this.s) };
  }

  stateDistance(state: NumVec, goal: NumVec): number {
    checkVec('pusht.stateDistance', 'state', state, 7);
    checkVec('pusht.stateDistance', 'goal', goal, 7);
    let d2 = 0;
    for (let i = 0; i < 4; i++) d2 += (goal[i] - state[i]) * (goal[i] - state[i]);
    return Math.sqrt(d2);
  }

  isSuccess(state: NumVec, goal: NumVec): boolean {
    return this.stateDistance(state, goal) < PUSHT.successPos && Math.abs(pushtAngleError(state, goal)) < PUSHT.successAngle;
  }

  /**
   * Without a dataset: a random reference state as start, and as goal the state reached after
   * 25 scripted-pusher actions (feasible in 25 steps, like DINO-WM's dataset-replay goals).
   * With a dataset, use `sampleDatasetStartGoal` (dataset/load.ts), which is DINO-WM's `dset` mode.
   */
  sampleStartGoal(rng: Rng): StartGoal {
    const start = samplePushTState(rng);
    const pusher = new ScriptedPusher(rng);
    const saved = this.s;
    this.s = start.slice();
    for (let t = 0; t < 25; t++) pushtStep(this.s, ...pusher.act(this.s));
    const goal = this.s;
    this.s = saved;
    return { start, goal };
  }

  replay(start: NumVec, actions: NumVec): Float64Array {
    return replayActions(this, start, actions);
  }

  render(state: NumVec, size: number): Uint8Array {
    checkVec('pusht.render', 'state', state, 7);
    checkSize('pusht.render', size);
    return renderPushT(state, size);
  }
}
