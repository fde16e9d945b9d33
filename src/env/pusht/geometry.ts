/**
 * PushT geometry (DINO-WM `pusht_env.py`, pymunk with y down, 512x512 px world).
 *
 * Block "T" in body-local coordinates (origin = centre of the bar's top edge = body.position):
 *   bar  [-60, 60] x [0, 30],  stem [-15, 15] x [30, 120]
 * mass 1, moment 3000 (the reference's copy-paste bug: 2 x moment_for_poly(bar)), centre of
 * gravity at local (0, 45) (unweighted mean of the two box centroids).
 * world = position + R(angle) local, R = [[c, -s], [s, c]].
 */
import { cos, sin } from '../trig.js';

export const PUSHT = {
  agentRadius: 15,
  mass: 1,
  inertia: 3000,
  cogX: 0,
  cogY: 45,
  /** arena wall segments at x, y = 5 and 506 with radius 2: the block stays in [7, 504] */
  wallLo: 5,
  wallHi: 506,
  wallRadius: 2,
  /** Chipmunk's default collision slop */
  slop: 0.1,
  dt: 0.01,
  substeps: 10,
  iterations: 10,
  kp: 100,
  kv: 20,
  actionScale: 100,
  successPos: 20,
  successAngle: 3.141592653589793 / 9,
  worldSize: 512,
} as const;

/** Goal "visual anchor" pose drawn in every frame (x, y, angle). Not the task goal. */
export const PUSHT_ANCHOR_POSE = [256, 256, 3.141592653589793 / 4] as const;

/** The two boxes, local [x0, y0, x1, y1]. */
export const T_BOXES: readonly (readonly [number, number, number, number])[] = [
  [-60, 0, 60, 30],
  [-15, 30, 15, 120],
];

/** The T's outline, local, y-down clockwise: 8 vertices [x0, y0, x1, y1, ...]. */
export const T_OUTLINE = [-60, 0, 60, 0, 60, 30, 15, 30, 15, 120, -15, 120, -15, 30, -60, 30] as const;

/** A block pose with its rotation cached. */
export interface Pose {
  x: number;
  y: number;
  angle: number;
  c: number;
  s: number;
}

export function pose(x: number, y: number, angle: number): Pose {
  return { x, y, angle, c: cos(angle), s: sin(angle) };
}

/** Local -> world point. */
export function toWorld(p: Pose, lx: number, ly: number): [number, number] {
  return [p.x + p.c * lx - p.s * ly, p.y + p.s * lx + p.c * ly];
}

/** World -> local point. */
export function toLocal(p: Pose, wx: number, wy: number): [number, number] {
  const dx = wx - p.x;
  const dy = wy - p.y;
  return [p.c * dx + p.s * dy, -p.s * dx + p.c * dy];
}

/** World centre of gravity. */
export function cogWorld(p: Pose): [number, number] {
  return toWorld(p, PUSHT.cogX, PUSHT.cogY);
}

/** World corners of box b, [x0, y0, ..., x3, y3] in the order (x0,y0) (x1,y0) (x1,y1) (x0,y1). */
export function boxCorners(p: Pose, b: number): number[] {
  const [x0, y0, x1, y1] = T_BOXES[b];
  return [...toWorld(p, x0, y0), ...toWorld(p, x1, y0), ...toWorld(p, x1, y1), ...toWorld(p, x0, y1)];
}

export interface CircleBoxContact {
  /** penetration depth (> 0 means overlap) */
  pen: number;
  /** local unit normal from the box towards the circle centre */
  nx: number;
  ny: number;
  /** local contact point on the box boundary */
  px: number;
  py: number;
}

/**
 * Circle (local centre (cx, cy), radius r) against the local axis-aligned box b.
 * Returns the contact if the circle touches or overlaps the box, else null.
 */
export function circleBox(cx: number, cy: number, r: number, b: number): CircleBoxContact | null {
  const [x0, y0, x1, y1] = T_BOXES[b];
  const qx = cx < x0 ? x0 : cx > x1 ? x1 : cx;
  const qy = cy < y0 ? y0 : cy > y1 ? y1 : cy;
  const dx = cx - qx;
  const dy = cy - qy;
  if (dx !== 0 || dy !== 0) {
    const d2 = dx * dx + dy * dy;
    if (d2 >= r * r) return null;
    const d = Math.sqrt(d2);
    return { pen: r - d, nx: dx / d, ny: dy / d, px: qx, py: qy };
  }
  // centre inside: leave through the nearest face (ties: left, right, top, bottom)
  const dl = cx - x0;
  const dr = x1 - cx;
  const dt = cy - y0;
  const db = y1 - cy;
  const m = Math.min(dl, dr, dt, db);
  if (m === dl) return { pen: r + dl, nx: -1, ny: 0, px: x0, py: cy };
  if (m === dr) return { pen: r + dr, nx: 1, ny: 0, px: x1, py: cy };
  if (m === dt) return { pen: r + dt, nx: 0, ny: -1, px: cx, py: y0 };
  return { pen: r + db, nx: 0, ny: 1, px: cx, py: y1 };
}

/** Largest penetration of the agent disc into either box of the T (<= 0: no overlap). */
export function agentOverlap(p: Pose, ax: number, ay: number): number {
  const [lx, ly] = toLocal(p, ax, ay);
  let best = -Infinity;
  for (let b = 0; b < T_BOXES.length; b++) {
    const c = circleBox(lx, ly, PUSHT.agentRadius, b);
    if (c) best = Math.max(best, c.pen);
    else {
      // separation distance as a negative penetration
      const [x0, y0, x1, y1] = T_BOXES[b];
      const qx = lx < x0 ? x0 : lx > x1 ? x1 : lx;
      const qy = ly < y0 ? y0 : ly > y1 ? y1 : ly;
      best = Math.max(best, PUSHT.agentRadius - Math.sqrt((lx - qx) * (lx - qx) + (ly - qy) * (ly - qy)));
    }
  }
  return best;
}

/** Largest depth by which any block corner enters the arena walls (<= 0: inside). */
export function wallOverlap(p: Pose): number {
  const lo = PUSHT.wallLo + PUSHT.wallRadius;
  const hi = PUSHT.wallHi - PUSHT.wallRadius;
  let best = -Infinity;
  for (let b = 0; b < T_BOXES.length; b++) {
    const v = boxCorners(p, b);
    for (let i = 0; i < 8; i += 2) best = Math.max(best, lo - v[i], v[i] - hi, lo - v[i + 1], v[i + 1] - hi);
  }
  return best;
}
