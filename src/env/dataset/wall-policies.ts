/**
 * Exploration policies for Wall data. DINO-WM's generator script is not public; its DotDataset
 * code draws a von-Mises random walk of headings (concentration 5) with truncated-normal step
 * lengths (mean 1, std 0.4, [0.2, 1.8]). quantwm keeps that walk and adds two regimes a world
 * model needs so that a planner cannot exploit it:
 *
 *  - `random`: persistent random walk. Heading d (unit vector) is diffused each step by an
 *    isotropic Gaussian of std 1/sqrt(5) per axis and renormalised (wrapped-normal stand-in for
 *    the von Mises kernel, no trig needed); action = 0.6 * len * d, len ~ TN(1, 0.4, [0.2, 1.8]),
 *    which gives a per-axis action std near DINO-WM's 0.44 - 0.47.
 *  - `door`: the same walk steered to the door entrance on the dot's side, through the door, then
 *    to a random point in the other room (heading += 0.6 * direction to waypoint).
 *  - `cem`: what a CEM planner feeds the model: i.i.d. Gaussian actions, N(mu, sigma^2) per axis,
 *    mu and sigma redrawn every 5 env steps (one world-model step; mu ~ N(0, 0.45^2),
 *    sigma ~ 0.45 U[0.1, 1]); with probability 0.25 per segment mu points at the nearest wall
 *    with magnitude U[0.5, 1.5], so the data contain pushes into walls.
 *  - `mix`: per episode 30 % random, 45 % door, 25 % cem (about half the episodes cross).
 */
import type { Rng } from '../../tensor/rng.js';
import type { WallGeometry } from '../wall.js';

export type WallPolicy = 'random' | 'door' | 'cem' | 'mix';
export const WALL_POLICIES: readonly WallPolicy[] = ['random', 'door', 'cem', 'mix'];

const STEP_SCALE = 0.6;
const TURN_STD = 0.4472135954999579; // 1/sqrt(5)

/** Truncated normal N(1, 0.4^2) on [0.2, 1.8] by rejection. */
function stepLength(rng: Rng): number {
  for (;;) {
    const v = 1 + 0.4 * rng.normal();
    if (v >= 0.2 && v <= 1.8) return v;
  }
}

function unit(x: number, y: number): [number, number] {
  const n = Math.sqrt(x * x + y * y);
  return n > 0 ? [x / n, y / n] : [1, 0];
}

/** A stateful per-episode policy: act(x, y) -> action (2). */
export interface EpisodePolicy {
  readonly kind: 'random' | 'door' | 'cem';
  act(x: number, y: number): [number, number];
}

export function makeWallPolicy(kind: WallPolicy, rng: Rng, g: WallGeometry): EpisodePolicy {
  let k: 'random' | 'door' | 'cem';
  if (kind === 'mix') {
    const u = rng.uniform();
    k = u < 0.3 ? 'random' : u < 0.75 ? 'door' : 'cem';
  } else k = kind;
  if (k === 'random') return randomWalk(rng);
  if (k === 'door') return doorSteered(rng, g);
  return cemLike(rng, g);
}

function randomWalk(rng: Rng): EpisodePolicy {
  let d = unit(rng.normal(), rng.normal());
  return {
    kind: 'random',
    act() {
      d = unit(d[0] + TURN_STD * rng.normal(), d[1] + TURN_STD * rng.normal());
      const s = STEP_SCALE * stepLength(rng);
      return [s * d[0], s * d[1]];
    },
  };
}

function doorSteered(rng: Rng, g: WallGeometry): EpisodePolicy {
  let d = unit(rng.normal(), rng.normal());
  let waypoints: [number, number][] | null = null;
  return {
    kind: 'door',
    act(x, y) {
      if (waypoints === null) {
        const leftSide = x < g.wallX;
        const entryX = leftSide ? g.left - 4 : g.right + 4;
        const exitX = leftSide ? g.right + 5 : g.left - 5;
        const far = leftSide ? g.right + 6 + (g.borderHi - 6 - g.right - 6) * rng.uniform() : g.borderLo + 6 + (g.left - 6 - g.borderLo - 6) * rng.uniform();
        const farY = g.borderLo + 6 + (g.borderHi - g.borderLo - 12) * rng.uniform();
        waypoints = [
          [entryX, g.doorY + 3 * (2 * rng.uniform() - 1)],
          [exitX, g.doorY + 2 * (2 * rng.uniform() - 1)],
          [far, farY],
        ];
      }
      while (waypoints.length > 1 && Math.abs(waypoints[0][0] - x) + Math.abs(waypoints[0][1] - y) < 2.5) waypoints.shift();
      const [tx, ty] = unit(waypoints[0][0] - x, waypoints[0][1] - y);
      d = unit(d[0] + 0.6 * tx + 0.3 * rng.normal(), d[1] + 0.6 * ty + 0.3 * rng.normal());
      const s = STEP_SCALE * stepLength(rng);
      return [s * d[0], s * d[1]];
    },
  };
}

function cemLike(rng: Rng, g: WallGeometry): EpisodePolicy {
  let t = 0;
  let mx = 0;
  let my = 0;
  let sd = 0.45;
  return {
    kind: 'cem',
    act(x, y) {
      if (t % 5 === 0) {
        sd = 0.45 * (0.1 + 0.9 * rng.uniform());
        if (rng.uniform() < 0.25) {
          // aim at the nearest wall (borders or the middle wall on this side)
          const wallLine = x < g.wallX ? g.left : g.right;
          const cands: [number, number, number][] = [
            [Math.abs(x - g.borderLo), -1, 0],
            [Math.abs(g.borderHi - x), 1, 0],
            [Math.abs(y - g.borderLo), 0, -1],
            [Math.abs(g.borderHi - y), 0, 1],
            [Math.abs(wallLine - x), x < g.wallX ? 1 : -1, 0],
          ];
          cands.sort((a, b) => a[0] - b[0]);
          const m = 0.5 + rng.uniform();
          mx = cands[0][1] * m;
          my = cands[0][2] * m;
        } else {
          mx = 0.45 * rng.normal();
          my = 0.45 * rng.normal();
        }
      }
      t++;
      return [mx + sd * rng.normal(), my + sd * rng.normal()];
    },
  };
}
