/**
 * Wall (DINO-WM `DotWall`): a point in a 65x65 pixel grid, split by a vertical wall with a door.
 *
 * State = proprio = (x, y) in float pixel units (x = column, y = row). Action (dx, dy),
 * unbounded. Transition p' = p + 2a, then DINO-WM's collision fix-up `check_wall_intersect`
 * (env/wall/envs/utils.py) reproduced branch by branch in `wallTransition`, including its
 * deterministic +-0.5 push-back and the 0.3 border inset. Geometry (defaults = DEFAULT_CFG):
 * wall band x in [wallX - 3, wallX + 3], door rows y in [doorY - 4, doorY + 4], border lines at
 * 4 and 60. Success: ||goal - p|| < 4.5.
 *
 * Departures, all for degenerate inputs only: the original divides by dx (and, for a
 * horizontal hit, by the slope) and yields NaN for exactly vertical moves into the top or
 * bottom border, or moves along a wall line; here the intersection of a vertical move is the
 * point itself (x* = p1.x, or y* = p1.y on a vertical wall line). Like the original, a step
 * longer than ~30 px that passes the door in one jump is not clipped (see docs/environments.md).
 */
import { exp } from '../tensor/math.js';
import { ValueError } from '../tensor/errors.js';
import type { Rng } from '../tensor/rng.js';
import { resizeToRgb8 } from './render/resample.js';
import { checkSize, checkVec, readParams, replayActions, type Env, type NumVec, type Observation, type StartGoal } from './types.js';

export const WALL_DEFAULTS = {
  /** image side returned by observe() */
  imageSize: 224,
  /** centre column of the vertical wall */
  wallX: 32,
  /** centre row of the door */
  doorY: 30,
  /** wall width (the band is wallX +- wallWidth//2) */
  wallWidth: 6,
  /** door half-height */
  doorSpace: 4,
  borderWallLoc: 5,
  gridSize: 65,
  dotStd: 1.7,
} as const;

export const WALL_SUCCESS_DISTANCE = 4.5;

/** Derived geometry of a Wall instance. */
export interface WallGeometry {
  wallX: number;
  left: number; // wallX - wallWidth//2
  right: number; // wallX + wallWidth//2
  doorBot: number; // doorY - doorSpace
  doorTop: number; // doorY + doorSpace
  borderLo: number; // borderWallLoc - 1
  borderHi: number; // gridSize - borderWallLoc
  gridSize: number;
  dotStd: number;
  doorY: number;
}

export function wallGeometry(p: Readonly<Record<string, number>>): WallGeometry {
  const half = Math.floor(p.wallWidth / 2);
  return {
    wallX: p.wallX,
    left: p.wallX - half,
    right: p.wallX + half,
    doorBot: p.doorY - p.doorSpace,
    doorTop: p.doorY + p.doorSpace,
    borderLo: p.borderWallLoc - 1,
    borderHi: p.gridSize - p.borderWallLoc,
    gridSize: p.gridSize,
    dotStd: p.dotStd,
    doorY: p.doorY,
  };
}

function sign(v: number): number {
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

/** Intersection with the vertical line x = X (null if none, or if y* falls in the hole). */
function vertHit(x1: number, y1: number, x2: number, y2: number, X: number, holeLo: number, holeHi: number, hasHole: boolean): number | null {
  if (sign(x1 - X) * sign(x2 - X) > 0.1) return null;
  let y: number;
  const dx = x2 - x1;
  if (dx === 0) y = y1; // guarded: the original computes NaN here
  else {
    const a = (y2 - y1) / dx;
    const b = y1 - a * x1;
    y = a * X + b;
  }
  if (hasHole && !(y < holeLo || y > holeHi)) return null;
  return y;
}

/** Intersection with the horizontal line y = Y (no holes): returns x* or null. */
function horzHit(x1: number, y1: number, x2: number, y2: number, Y: number): number | null {
  if (sign(y1 - Y) * sign(y2 - Y) > 0.1) return null;
  const dx = x2 - x1;
  const dy = y2 - y1;
  if (dx === 0 || dy === 0) return x1; // guarded: the original divides by zero
  const a = dy / dx;
  const b = y1 - a * x1;
  return (Y - b) / a;
}

/**
 * One Wall transition: p2 = p + 2a, then the collision fix-up.
 * @returns the new position [x, y]
 */
export function wallTransition(g: WallGeometry, x1: number, y1: number, ax: number, ay: number): [number, number] {
  const x2 = x1 + ax * 2;
  const y2 = y1 + ay * 2;
  // 1) entering the door corridor through its top/bottom edge
  if (y2 - y1 > 0 && y2 > g.doorTop && y1 < g.doorTop) {
    const X = horzHit(x1, y1, x2, y2, g.doorTop);
    if (X !== null && g.left <= X && X <= g.right) return [X + 0.5, g.doorTop - 0.5];
  }
  if (y2 - y1 < 0 && y2 < g.doorBot && y1 > g.doorBot) {
    const X = horzHit(x1, y1, x2, y2, g.doorBot);
    if (X !== null && g.left <= X && X <= g.right) return [X + 0.5, g.doorBot + 0.5];
  }
  // 2) borders and the wall proper
  let left = g.borderLo;
  let right = g.borderHi;
  let leftHole = false;
  let rightHole = false;
  if (g.wallX > x1) {
    right = g.left;
    rightHole = true;
  } else {
    left = g.right;
    leftHole = true;
  }
  const top = g.borderLo;
  const bot = g.borderHi;
  let vX = left;
  let vY = vertHit(x1, y1, x2, y2, left, g.doorBot, g.doorTop, leftHole);
  if (vY === null) {
    vX = right;
    vY = vertHit(x1, y1, x2, y2, right, g.doorBot, g.doorTop, rightHole);
  }
  let hY = top;
  let hX = horzHit(x1, y1, x2, y2, top);
  if (hX === null) {
    hY = bot;
    hX = horzHit(x1, y1, x2, y2, bot);
  }
  let qx: number;
  let qy: number;
  if (vY !== null && hX !== null) {
    // the hit closer to p1 wins (strict <, ties go to the horizontal hit as in the original);
    // squared distances: same order, no engine-dependent Math.hypot
    const dv = (x1 - vX) * (x1 - vX) + (y1 - vY) * (y1 - vY);
    const dh = (x1 - hX) * (x1 - hX) + (y1 - hY) * (y1 - hY);
    if (dv < dh) {
      qx = vX + 0.5 * sign(x1 - vX);
      qy = vY + 0.5;
    } else {
      qx = hX + 0.5;
      qy = hY + 0.5 * sign(y1 - hY);
    }
  } else if (vY !== null) {
    qx = vX + 0.5 * sign(x1 - vX);
    qy = vY + 0.5;
  } else if (hX !== null) {
    qx = hX + 0.5;
    qy = hY + 0.5 * sign(y1 - hY);
  } else return [x2, y2];
  qx = qx < left ? left : qx > right ? right : qx;
  qy = qy < top ? top : qy > bot ? bot : qy;
  if (qx <= left) qx = left + 0.3;
  if (qx >= right) qx = right - 0.3;
  if (qy <= top) qy = top + 0.3;
  if (qy >= bot) qy = bot - 0.3;
  return [qx, qy];
}

/** Is the point on the solid part of the middle wall (inside the band, outside the door rows)? */
export function inSolidWall(g: WallGeometry, x: number, y: number): boolean {
  return x > g.left && x < g.right && (y < g.doorBot || y > g.doorTop);
}

/**
 * The 65x65 float RGB image (0..255) of DINO-WM's `channels_to_img`: black wall pixels, and
 * elsewhere R = 255, G = B = 255 - uint8(255 I) with I the max-normalised Gaussian dot.
 * @returns (gridSize, gridSize, 3) float64
 */
export function wallGridImage(g: WallGeometry, x: number, y: number): Float64Array {
  const n = g.gridSize;
  const inten = new Float64Array(n * n);
  const inv = 1 / (2 * g.dotStd * g.dotStd);
  let max = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const d2 = (c - x) * (c - x) + (r - y) * (r - y);
      const v = exp(-d2 * inv);
      inten[r * n + c] = v;
      if (v > max) max = v;
    }
  }
  const img = new Float64Array(n * n * 3);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const o = (r * n + c) * 3;
      const band = c >= g.left && c <= g.right && !(r >= g.doorBot && r <= g.doorTop);
      const border = c === g.borderLo || c === g.borderHi || r === g.borderLo || r === g.borderHi;
      if (band || border) continue; // (0, 0, 0)
      const red = max > 0 ? Math.trunc((inten[r * n + c] / max) * 255) : 0;
      img[o] = 255;
      img[o + 1] = 255 - red;
      img[o + 2] = 255 - red;
    }
  }
  return img;
}

export class WallEnv implements Env {
  readonly name = 'wall' as const;
  readonly stateDim = 2;
  readonly actionDim = 2;
  readonly proprioDim = 2;
  readonly imageSize: number;
  readonly params: Readonly<Record<string, number>>;
  readonly geom: WallGeometry;
  private x = 0;
  private y = 0;

  constructor(params?: Readonly<Record<string, number>>) {
    const p = readParams('WallEnv', params, WALL_DEFAULTS);
    checkSize('WallEnv', p.imageSize);
    if (!Number.isInteger(p.gridSize) || p.gridSize < 16 || p.gridSize > 1024) throw new ValueError('WallEnv', `gridSize must be an integer in [16, 1024], got ${p.gridSize}`);
    if (!(p.dotStd > 0)) throw new ValueError('WallEnv', `dotStd must be > 0, got ${p.dotStd}`);
    this.params = Object.freeze(p);
    this.imageSize = p.imageSize;
    this.geom = wallGeometry(p);
    const g = this.geom;
    if (!(g.borderLo < g.left && g.right < g.borderHi && g.borderLo < g.doorBot && g.doorTop < g.borderHi)) {
      throw new ValueError('WallEnv', `wall/door must lie inside the borders (wall [${g.left}, ${g.right}], door [${g.doorBot}, ${g.doorTop}], borders ${g.borderLo}..${g.borderHi})`);
    }
    this.x = (g.borderLo + g.left) / 2;
    this.y = g.doorY;
  }

  reset(state: NumVec): Float64Array {
    checkVec('wall.reset', 'state', state, 2);
    this.x = state[0];
    this.y = state[1];
    return this.state();
  }

  step(action: Float64Array | Float32Array | number[]): Float64Array {
    checkVec('wall.step', 'action', action, 2);
    const [x, y] = wallTransition(this.geom, this.x, this.y, action[0], action[1]);
    this.x = x;
    this.y = y;
    return this.state();
  }

  state(): Float64Array {
    return Float64Array.of(this.x, this.y);
  }

  proprioOf(state: NumVec): Float32Array {
    checkVec('wall.proprioOf', 'state', state, 2);
    return Float32Array.of(state[0], state[1]);
  }

  observe(): Observation {
    const s = this.state();
    return { image: this.render(s, this.imageSize), proprio: this.proprioOf(s) };
  }

  stateDistance(state: NumVec, goal: NumVec): number {
    checkVec('wall.stateDistance', 'state', state, 2);
    checkVec('wall.stateDistance', 'goal', goal, 2);
    const dx = goal[0] - state[0];
    const dy = goal[1] - state[1];
    return Math.sqrt(dx * dx + dy * dy);
  }

  isSuccess(state: NumVec, goal: NumVec): boolean {
    return this.stateDistance(state, goal) < WALL_SUCCESS_DISTANCE;
  }

  /**
   * DINO-WM `generate_random_state`: start and goal in opposite rooms, 2 dotStd away from
   * walls and borders. Draw order start_x, target_x, start_y, target_y, swap coin.
   */
  sampleStartGoal(rng: Rng): StartGoal {
    const g = this.geom;
    const pad = 2 * g.dotStd;
    const bpad = g.borderLo + pad;
    const u = (lo: number, hi: number): number => lo + (hi - lo) * rng.uniform();
    let sx = u(bpad, g.left - pad);
    let tx = u(g.right + pad, g.gridSize - 1 - bpad);
    const sy = u(bpad, g.gridSize - 1 - bpad);
    const ty = u(bpad, g.gridSize - 1 - bpad);
    if (rng.uniform() < 0.5) [sx, tx] = [tx, sx];
    return { start: Float64Array.of(sx, sy), goal: Float64Array.of(tx, ty) };
  }

  replay(start: NumVec, actions: NumVec): Float64Array {
    return replayActions(this, start, actions);
  }

  /** The 65x65 grid image resampled (triangle filter, torchvision antialias semantics) to size x size. */
  render(state: NumVec, size: number): Uint8Array {
    checkVec('wall.render', 'state', state, 2);
    checkSize('wall.render', size);
    const n = this.geom.gridSize;
    return resizeToRgb8(wallGridImage(this.geom, state[0], state[1]), n, n, size, size);
  }
}
