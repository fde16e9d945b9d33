/**
 * PointMaze (D4RL maze2d U-maze, DINO-WM `PointMazeWrapper`): a point mass in a 5x5 grid maze.
 *
 * State = proprio = (qpos_x, qpos_y, qvel_x, qvel_y); world = 1.2 + qpos. Action (u_x, u_y),
 * clipped to [-1, 1]. One env step = 5 substeps of h = 0.01 s after clipping qvel to [-5, 5]:
 *   v = (m v + h 100 u) / (m + h)     implicit joint damping 1 (MuJoCo Euler), motor gear 100
 *   x += h v                          semi-implicit Euler
 *   contacts: ball (r = 0.1) vs wall boxes, frictionless and inelastic: project the centre out
 *   to distance r (deepest box first) and remove the inward normal velocity.
 * m = 4/3 pi 0.1^3 1000. Wall cell (w, h) (w = layout row) spans qpos
 * [w - 0.7, w + 0.3] x [h - 0.7, h + 0.3]. Success: ||goal[0:2] - s[0:2]|| < 0.5.
 *
 * Departures from MuJoCo: hard projection instead of soft constraints (no 0.002 margin, no
 * solref/solimp penetration), documented in docs/environments.md. Per-substep motion is at most
 * |v| h < 0.07 < r, so the ball cannot tunnel.
 */
import { ValueError } from '../tensor/errors.js';
import type { Rng } from '../tensor/rng.js';
import { packRgb, RgbImage, fillCircle, shadeSeparable, type RGB } from './render/raster.js';
import { checkSize, checkVec, readParams, replayActions, type Env, type NumVec, type Observation, type StartGoal } from './types.js';

export const U_MAZE = ['#####', '#GOO#', '###O#', '#OOO#', '#####'] as const;

export const POINTMAZE = {
  radius: 0.1,
  /** sphere of radius 0.1 and density 1000 */
  mass: (4 / 3) * 3.141592653589793 * 0.001 * 1000,
  damping: 1,
  gear: 100,
  dt: 0.01,
  substeps: 5,
  velClip: 5,
  /** |v| range of sampled start/goal velocities (STATE_RANGES) */
  sampleVel: 5.2262554,
  successDistance: 0.5,
  /** world = qpos + offset */
  offset: 1.2,
  /** visible site radius (rendering only) */
  siteRadius: 0.2,
} as const;

export const POINTMAZE_DEFAULTS = { imageSize: 224 } as const;

export const POINTMAZE_COLORS = {
  floorA: [51, 77, 102] as RGB, // rgb1 (0.2, 0.3, 0.4)
  floorB: [26, 51, 77] as RGB, // rgb2 (0.1, 0.2, 0.3)
  wall: [179, 128, 77] as RGB, // (0.7, 0.5, 0.3)
  agent: [77, 153, 77] as RGB, // (0.3, 0.6, 0.3)
} as const;

/** Wall boxes in qpos coordinates: [x0, y0, x1, y1] per wall cell. */
function wallBoxes(): Float64Array {
  const out: number[] = [];
  for (let w = 0; w < U_MAZE.length; w++) {
    for (let h = 0; h < U_MAZE[w].length; h++) if (U_MAZE[w][h] === '#') out.push(w - 0.7, h - 0.7, w + 0.3, h + 0.3);
  }
  return Float64Array.from(out);
}
export const WALL_BOXES = wallBoxes();

/** Signed clearance of a point from one box: distance to the box (negative inside). */
export function boxDistance(b: Float64Array, i: number, x: number, y: number): number {
  const x0 = b[4 * i];
  const y0 = b[4 * i + 1];
  const x1 = b[4 * i + 2];
  const y1 = b[4 * i + 3];
  const qx = x < x0 ? x0 : x > x1 ? x1 : x;
  const qy = y < y0 ? y0 : y > y1 ? y1 : y;
  const dx = x - qx;
  const dy = y - qy;
  if (dx !== 0 || dy !== 0) return Math.sqrt(dx * dx + dy * dy);
  return -Math.min(x - x0, x1 - x, y - y0, y1 - y);
}

/** Is (x, y) inside the rejection-sampling region of `sample_random_init_goal_states`? */
export function inSampleRegion(x: number, y: number): boolean {
  return (((x >= 0.5 && x <= 1.1) || (x >= 2.5 && x <= 3.1)) && y >= 0.5 && y <= 3.1) || (x > 1.1 && x < 2.5 && y >= 2.5 && y <= 3.1);
}

/**
 * Resolve ball-vs-wall contacts in place on s = [x, y, vx, vy]: up to 4 passes, each fixing
 * the deepest penetrating box (centre moved to distance r along the contact normal, inward
 * normal velocity removed).
 */
function resolveContacts(s: Float64Array): void {
  const r = POINTMAZE.radius;
  const b = WALL_BOXES;
  const nb = b.length / 4;
  for (let pass = 0; pass < 4; pass++) {
    let best = -1;
    let bestDist: number = r;
    for (let i = 0; i < nb; i++) {
      const d = boxDistance(b, i, s[0], s[1]);
      if (d < bestDist) {
        bestDist = d;
        best = i;
      }
    }
    if (best < 0) return;
    const x0 = b[4 * best];
    const y0 = b[4 * best + 1];
    const x1 = b[4 * best + 2];
    const y1 = b[4 * best + 3];
    let nx: number;
    let ny: number;
    if (bestDist > 0) {
      const qx = s[0] < x0 ? x0 : s[0] > x1 ? x1 : s[0];
      const qy = s[1] < y0 ? y0 : s[1] > y1 ? y1 : s[1];
      nx = (s[0] - qx) / bestDist;
      ny = (s[1] - qy) / bestDist;
      s[0] = qx + nx * r;
      s[1] = qy + ny * r;
    } else {
      // centre inside the box (only from an invalid reset state): leave through the nearest face
      const m = -bestDist;
      if (m === s[0] - x0) [nx, ny, s[0]] = [-1, 0, x0 - r];
      else if (m === x1 - s[0]) [nx, ny, s[0]] = [1, 0, x1 + r];
      else if (m === s[1] - y0) [nx, ny, s[1]] = [0, -1, y0 - r];
      else [nx, ny, s[1]] = [0, 1, y1 + r];
    }
    const vn = s[2] * nx + s[3] * ny;
    if (vn < 0) {
      s[2] -= vn * nx;
      s[3] -= vn * ny;
    }
  }
}

/**
 * One env step of the point mass, in place on s = [x, y, vx, vy].
 * @param ux,uy raw action (clipped here to [-1, 1])
 */
export function pointMazeStep(s: Float64Array, ux: number, uy: number): void {
  const { mass: m, dt: h, gear, damping, velClip } = POINTMAZE;
  const fx = gear * (ux < -1 ? -1 : ux > 1 ? 1 : ux);
  const fy = gear * (uy < -1 ? -1 : uy > 1 ? 1 : uy);
  s[2] = s[2] < -velClip ? -velClip : s[2] > velClip ? velClip : s[2];
  s[3] = s[3] < -velClip ? -velClip : s[3] > velClip ? velClip : s[3];
  const den = m + h * damping;
  for (let k = 0; k < POINTMAZE.substeps; k++) {
    s[2] = (m * s[2] + h * fx) / den;
    s[3] = (m * s[3] + h * fy) / den;
    s[0] += h * s[2];
    s[1] += h * s[3];
    resolveContacts(s);
  }
}

export class PointMazeEnv implements Env {
  readonly name = 'pointmaze' as const;
  readonly stateDim = 4;
  readonly actionDim = 2;
  readonly proprioDim = 4;
  readonly imageSize: number;
  readonly params: Readonly<Record<string, number>>;
  private s = Float64Array.of(0.8, 0.8, 0, 0);

  constructor(params?: Readonly<Record<string, number>>) {
    const p = readParams('PointMazeEnv', params, POINTMAZE_DEFAULTS);
    checkSize('PointMazeEnv', p.imageSize);
    this.params = Object.freeze(p);
    this.imageSize = p.imageSize;
  }

  reset(state: NumVec): Float64Array {
    checkVec('pointmaze.reset', 'state', state, 4);
    this.s = Float64Array.from(state);
    return this.state();
  }

  step(action: Float64Array | Float32Array | number[]): Float64Array {
    checkVec('pointmaze.step', 'action', action, 2);
    pointMazeStep(this.s, action[0], action[1]);
    return this.state();
  }

  state(): Float64Array {
    return this.s.slice();
  }

  proprioOf(state: NumVec): Float32Array {
    checkVec('pointmaze.proprioOf', 'state', state, 4);
    return Float32Array.from(state);
  }

  observe(): Observation {
    return { image: this.render(this.s, this.imageSize), proprio: this.proprioOf(this.s) };
  }

  stateDistance(state: NumVec, goal: NumVec): number {
    checkVec('pointmaze.stateDistance', 'state', state, 4);
    checkVec('pointmaze.stateDistance', 'goal', goal, 4);
    const dx = goal[0] - state[0];
    const dy = goal[1] - state[1];
    return Math.sqrt(dx * dx + dy * dy);
  }

  isSuccess(state: NumVec, goal: NumVec): boolean {
    return this.stateDistance(state, goal) < POINTMAZE.successDistance;
  }

  /** Two independent draws: (x, y) ~ U[0.5, 3.1]^2 rejection-sampled into the free region, then vx, vy ~ U[-5.2262554, 5.2262554]. */
  sampleStartGoal(rng: Rng): StartGoal {
    return { start: samplePointMazeState(rng), goal: samplePointMazeState(rng) };
  }

  replay(start: NumVec, actions: NumVec): Float64Array {
    return replayActions(this, start, actions);
  }

  /**
   * Top-down orthographic view of the maze square, world [0.5, 5.5]^2: column = world x,
   * row = 5.5 - world y (the azimuth 90 / elevation -90 camera). Checker floor with 2-unit
   * checks (texrepeat 20 on the 80-unit plane), wall tops, the green site sphere (r = 0.2).
   */
  render(state: NumVec, size: number): Uint8Array {
    checkVec('pointmaze.render', 'state', state, 4);
    checkSize('pointmaze.render', size);
    const img = new RgbImage(size, size);
    const k = size / 5;
    const a = packRgb(POINTMAZE_COLORS.floorA);
    const b = packRgb(POINTMAZE_COLORS.floorB);
    const wall = packRgb(POINTMAZE_COLORS.wall);
    // A sample's colour depends on its world x only through (cell w, checker column parity)
    // and on its world y through (cell h, checker row parity): class = 2 * cell + parity.
    const cls = (world: number): number => 2 * Math.floor(world - 0.5) + (Math.floor(world / 2) % 2);
    shadeSeparable(
      img,
      (px) => cls(0.5 + px / k),
      (py) => cls(5.5 - py / k),
      (cxc, cyc) => {
        const w = cxc >> 1;
        const h = cyc >> 1;
        if (w >= 0 && w < 5 && h >= 0 && h < 5 && U_MAZE[w][h] === '#') return wall;
        return ((cxc & 1) + (cyc & 1)) % 2 === 0 ? a : b;
      },
    );
    const cx = (state[0] + POINTMAZE.offset - 0.5) * k;
    const cy = (5.5 - (state[1] + POINTMAZE.offset)) * k;
    fillCircle(img, cx, cy, POINTMAZE.siteRadius * k, POINTMAZE_COLORS.agent);
    return img.data;
  }
}

/** One rejection-sampled PointMaze state (x, y, vx, vy). */
export function samplePointMazeState(rng: Rng): Float64Array {
  for (let tries = 0; tries < 10000; tries++) {
    const x = 0.5 + 2.6 * rng.uniform();
    const y = 0.5 + 2.6 * rng.uniform();
    if (!inSampleRegion(x, y)) continue;
    const v = POINTMAZE.sampleVel;
    return Float64Array.of(x, y, -v + 2 * v * rng.uniform(), -v + 2 * v * rng.uniform());
  }
  throw new ValueError('samplePointMazeState', 'rejection sampling failed 10000 times');
}
