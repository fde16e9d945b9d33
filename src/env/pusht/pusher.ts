/**
 * Scripted pusher for PushT data: approach the T, push it towards a target pose, with action
 * noise. There are no public expert demonstrations here; this stands in for DINO-WM's noisy
 * replays of the Diffusion-Policy demos.
 *
 * Each decision picks one of 24 contact candidates (3 points on each of the 8 outline edges,
 * local coordinates, outward normal n) whose quasi-static response to a push along -n best
 * matches the wanted motion. Per unit impulse a push at r (from the centre of gravity) moves the
 * block by (-n/m, (r x -n)/I); with I = m L^2 the score is the cosine between
 * (-n, (r x -n)/L) and (e, L dtheta), e = target CoG - CoG, L = sqrt(I/m) ~ 54.8 px.
 * The agent goes to a pre-contact point p + n (15 + 6) (around the block if the straight path
 * is blocked), then pushes towards p - 25 n for 4..12 steps, then decides again.
 * Actions are (waypoint - agent)/100, capped to `maxAction`, plus N(0, noiseStd^2) noise and,
 * with probability `jitter` per step, a uniform random action.
 */
import type { Rng } from '../../tensor/rng.js';
import { wrapAngle } from '../trig.js';
import { PUSHT, PUSHT_ANCHOR_POSE, T_BOXES, T_OUTLINE, agentOverlap, circleBox, cogWorld, pose, toWorld, wallOverlap, type Pose } from './geometry.js';

export interface PusherOptions {
  /** per-axis std of Gaussian action noise (default: U[0.02, 0.08] per pusher) */
  noiseStd?: number;
  /** cap on |action| before noise (default: U[0.15, 0.3] per pusher) */
  maxAction?: number;
  /** probability of a uniform random action at a step (default 0.05) */
  jitter?: number;
  /** probability that a new target is the anchor pose (256, 256, pi/4) (default 0.5) */
  anchorProb?: number;
}

interface Candidate {
  px: number;
  py: number;
  nx: number;
  ny: number;
}

const GAP = 6;
const PUSH_DEPTH = 25;
const L_GYR = Math.sqrt(PUSHT.inertia / PUSHT.mass);
const COS35 = 0.8191520442889918;
const SIN35 = 0.573576436351046;

/** The 24 contact candidates whose pre-contact disc is clear of the T. */
function makeCandidates(): Candidate[] {
  const out: Candidate[] = [];
  const n = T_OUTLINE.length / 2;
  for (let e = 0; e < n; e++) {
    const ax = T_OUTLINE[2 * e];
    const ay = T_OUTLINE[2 * e + 1];
    const bx = T_OUTLINE[(2 * e + 2) % T_OUTLINE.length];
    const by = T_OUTLINE[(2 * e + 3) % T_OUTLINE.length];
    const len = Math.sqrt((bx - ax) * (bx - ax) + (by - ay) * (by - ay));
    const nx = (by - ay) / len;
    const ny = -(bx - ax) / len;
    for (const t of [0.2, 0.5, 0.8]) {
      const px = ax + t * (bx - ax);
      const py = ay + t * (by - ay);
      const cx = px + nx * (PUSHT.agentRadius + GAP);
      const cy = py + ny * (PUSHT.agentRadius + GAP);
      let clear = true;
      for (let b = 0; b < T_BOXES.length; b++) if (circleBox(cx, cy, PUSHT.agentRadius + 2, b) !== null) clear = false;
      if (clear) out.push({ px, py, nx, ny });
    }
  }
  return out;
}
export const PUSH_CANDIDATES: readonly Candidate[] = makeCandidates();

type Mode = 'choose' | 'approach' | 'push';

export class ScriptedPusher {
  readonly noiseStd: number;
  readonly maxAction: number;
  readonly jitter: number;
  readonly anchorProb: number;
  private target: Pose;
  private mode: Mode = 'choose';
  private cand: Candidate = PUSH_CANDIDATES[0];
  private left = 0;

  constructor(
    private readonly rng: Rng,
    opts: PusherOptions = {},
  ) {
    this.noiseStd = opts.noiseStd ?? 0.02 + 0.06 * rng.uniform();
    this.maxAction = opts.maxAction ?? 0.15 + 0.15 * rng.uniform();
    this.jitter = opts.jitter ?? 0.05;
    this.anchorProb = opts.anchorProb ?? 0.5;
    this.target = this.sampleTarget();
  }

  /** The current target block pose. */
  targetPose(): [number, number, number] {
    return [this.target.x, this.target.y, this.target.angle];
  }

  private sampleTarget(): Pose {
    if (this.rng.uniform() < this.anchorProb) return pose(PUSHT_ANCHOR_POSE[0], PUSHT_ANCHOR_POSE[1], PUSHT_ANCHOR_POSE[2]);
    for (;;) {
      const gx = 150 + 212 * this.rng.uniform();
      const gy = 150 + 212 * this.rng.uniform();
      const q = pose(0, 0, 2 * Math.PI * this.rng.uniform());
      const p = pose(gx - (q.c * PUSHT.cogX - q.s * PUSHT.cogY), gy - (q.s * PUSHT.cogX + q.c * PUSHT.cogY), q.angle);
      if (wallOverlap(p) < -5) return p;
    }
  }

  /** Cosine score of pushing candidate c for block pose p. */
  private score(p: Pose, c: Candidate): number {
    const [gx, gy] = cogWorld(p);
    const [tx, ty] = cogWorld(this.target);
    const ex = tx - gx;
    const ey = ty - gy;
    const dth = wrapAngle(this.target.angle - p.angle);
    const [wx, wy] = toWorld(p, c.px, c.py);
    const dx = -(p.c * c.nx - p.s * c.ny);
    const dy = -(p.s * c.nx + p.c * c.ny);
    const rd = ((wx - gx) * dy - (wy - gy) * dx) / L_GYR;
    const gr = L_GYR * dth;
    const un = Math.sqrt(1 + rd * rd);
    const gn = Math.sqrt(ex * ex + ey * ey + gr * gr);
    if (gn === 0) return 0;
    return (dx * ex + dy * ey + rd * gr) / (un * gn);
  }

  private choose(p: Pose): void {
    const scores = PUSH_CANDIDATES.map((c) => this.score(p, c));
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
    if (this.rng.uniform() < 0.2) {
      const good = scores.map((s, i) => (s > 0 ? i : -1)).filter((i) => i >= 0);
      if (good.length > 0) best = good[this.rng.int(good.length)];
    }
    this.cand = PUSH_CANDIDATES[best];
    this.mode = 'approach';
    this.left = 30; // approach budget
  }

  /** Is the straight path from (x0, y0) to (x1, y1) clear of the T (agent disc + 3 px)? */
  private clear(p: Pose, x0: number, y0: number, x1: number, y1: number): boolean {
    const len = Math.sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0));
    for (let d = 8; d < len + 8; d += 8) {
      const t = Math.min(1, d / len);
      if (agentOverlap(p, x0 + t * (x1 - x0), y0 + t * (y1 - y0)) > -3) return false;
    }
    return true;
  }

  /**
   * Next relative action for the 7-d PushT state.
   * @returns (2) action
   */
  act(s: ArrayLike<number>): [number, number] {
    const p = pose(s[2], s[3], s[4]);
    const [gx, gy] = cogWorld(p);
    const [tx, ty] = cogWorld(this.target);
    if (Math.sqrt((tx - gx) * (tx - gx) + (ty - gy) * (ty - gy)) < 10 && Math.abs(wrapAngle(this.target.angle - p.angle)) < 0.15) {
      this.target = this.sampleTarget();
      this.mode = 'choose';
    }
    if (this.mode === 'choose') this.choose(p);
    const c = this.cand;
    let wx: number;
    let wy: number;
    if (this.mode === 'approach') {
      const [qx, qy] = toWorld(p, c.px + c.nx * (PUSHT.agentRadius + GAP), c.py + c.ny * (PUSHT.agentRadius + GAP));
      if (Math.sqrt((qx - s[0]) * (qx - s[0]) + (qy - s[1]) * (qy - s[1])) < 4) {
        this.mode = 'push';
        this.left = 4 + this.rng.int(9);
      } else if (--this.left <= 0) this.mode = 'choose';
      if (this.clear(p, s[0], s[1], qx, qy)) [wx, wy] = [qx, qy];
      else {
        const vx = s[0] - gx;
        const vy = s[1] - gy;
        const r = Math.max(Math.sqrt(vx * vx + vy * vy), 120);
        const dir = vx * (qy - gy) - vy * (qx - gx) >= 0 ? 1 : -1;
        const rx = COS35 * vx - dir * SIN35 * vy;
        const ry = dir * SIN35 * vx + COS35 * vy;
        const rn = Math.sqrt(rx * rx + ry * ry) || 1;
        wx = gx + (r * rx) / rn;
        wy = gy + (r * ry) / rn;
      }
    } else {
      [wx, wy] = toWorld(p, c.px - c.nx * PUSH_DEPTH, c.py - c.ny * PUSH_DEPTH);
      if (--this.left <= 0 || this.score(p, c) < 0) this.mode = 'choose';
    }
    let ax = (wx - s[0]) / PUSHT.actionScale;
    let ay = (wy - s[1]) / PUSHT.actionScale;
    const n = Math.sqrt(ax * ax + ay * ay);
    if (n > this.maxAction) {
      ax *= this.maxAction / n;
      ay *= this.maxAction / n;
    }
    if (this.rng.uniform() < this.jitter) {
      ax = this.maxAction * (2 * this.rng.uniform() - 1);
      ay = this.maxAction * (2 * this.rng.uniform() - 1);
    }
    return [ax + this.noiseStd * this.rng.normal(), ay + this.noiseStd * this.rng.normal()];
  }
}
