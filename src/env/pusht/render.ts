/**
 * PushT frame, drawn directly at the requested size (scale size/512) with the reference's
 * colours and order: white; the light-green goal "visual anchor" T at (256, 256, pi/4); the
 * arena walls (LightGray fat segments, r 2); the agent (RoyalBlue disc r 15, inner disc r 11 in
 * 1.2x lighter blue); each T box filled 1.2x LightSlateGray and outlined by LightSlateGray fat
 * segments (r 2). Departure: the reference draws aliased at 512 px with integer-rounded vertices
 * and then cv2-resizes to 224; quantwm rasterises antialiased at the target size.
 */
import { RgbImage, fillCapsule, fillCircle, fillConvexPolygon, type RGB } from '../render/raster.js';
import { PUSHT, PUSHT_ANCHOR_POSE, T_BOXES, boxCorners, pose } from './geometry.js';

export const PUSHT_COLORS = {
  background: [255, 255, 255] as RGB,
  goal: [144, 238, 144] as RGB, // LightGreen
  wall: [211, 211, 211] as RGB, // LightGray
  agent: [65, 105, 225] as RGB, // RoyalBlue
  agentInner: [78, 126, 255] as RGB, // min(1.2 RoyalBlue, 255)
  blockFill: [142, 163, 183] as RGB, // int(1.2 LightSlateGray)
  blockEdge: [119, 136, 153] as RGB, // LightSlateGray
} as const;

const WALL_SEGMENTS = [
  [5, 506, 5, 5],
  [5, 5, 506, 5],
  [506, 5, 506, 506],
  [5, 506, 506, 506],
] as const;

/**
 * @param s 7-d PushT state
 * @returns (size, size, 3) RGB
 */
export function renderPushT(s: ArrayLike<number>, size: number): Uint8Array {
  const img = new RgbImage(size, size).fill(PUSHT_COLORS.background);
  const k = size / PUSHT.worldSize;
  const scaled = (v: number[]): number[] => v.map((x) => x * k);
  const anchor = pose(PUSHT_ANCHOR_POSE[0], PUSHT_ANCHOR_POSE[1], PUSHT_ANCHOR_POSE[2]);
  for (let b = 0; b < T_BOXES.length; b++) fillConvexPolygon(img, scaled(boxCorners(anchor, b)), PUSHT_COLORS.goal);
  const wr = PUSHT.wallRadius * k;
  for (const [x0, y0, x1, y1] of WALL_SEGMENTS) fillCapsule(img, x0 * k, y0 * k, x1 * k, y1 * k, wr, PUSHT_COLORS.wall);
  fillCircle(img, s[0] * k, s[1] * k, PUSHT.agentRadius * k, PUSHT_COLORS.agent);
  fillCircle(img, s[0] * k, s[1] * k, (PUSHT.agentRadius - 4) * k, PUSHT_COLORS.agentInner);
  const block = pose(s[2], s[3], s[4]);
  for (let b = 0; b < T_BOXES.length; b++) {
    const v = scaled(boxCorners(block, b));
    fillConvexPolygon(img, v, PUSHT_COLORS.blockFill);
    for (let i = 0; i < 4; i++) {
      const j = (i + 1) % 4;
      fillCapsule(img, v[2 * i], v[2 * i + 1], v[2 * j], v[2 * j + 1], 2 * k, PUSHT_COLORS.blockEdge);
    }
  }
  return img.data;
}
