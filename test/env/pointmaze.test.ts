import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../src/tensor/errors.js';
import { Rng } from '../../src/tensor/rng.js';
import { POINTMAZE, POINTMAZE_COLORS, PointMazeEnv, WALL_BOXES, boxDistance, inSampleRegion } from '../../src/env/pointmaze.js';

const env = new PointMazeEnv({ imageSize: 64 });
const { mass: m, dt: h, radius: r } = POINTMAZE;
const NB = WALL_BOXES.length / 4;

/** Speed bound after one env step from clipped velocity v0: |v'| <= (m |v| + h |F|) / (m + h) per substep, |F| <= 100 sqrt 2; contacts only remove speed. */
function speedBound(v0: number): number {
  let v = v0;
  for (let k = 0; k < 5; k++) v = (m * v + h * 100 * Math.SQRT2) / (m + h);
  return v;
}

const start = fc
  .tuple(fc.double({ min: 0.45, max: 3.15, noNaN: true }), fc.double({ min: 0.45, max: 3.15, noNaN: true }), fc.double({ min: -9, max: 9, noNaN: true }), fc.double({ min: -9, max: 9, noNaN: true }))
  .filter(([x, y]) => inSampleRegion(x, y));
const action = fc.tuple(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }));

describe('PointMaze dynamics', () => {
  it('property: the ball never penetrates a wall (clearance >= r - 1e-12) and |v| stays within the clip-derived bound', () => {
    let runs = 0;
    fc.assert(
      fc.property(start, fc.array(action, { minLength: 1, maxLength: 60 }), (s0, acts) => {
        runs++;
        env.reset(s0);
        let s = env.state();
        for (const a of acts) {
          const vClip = Math.hypot(Math.max(-5, Math.min(5, s[2])), Math.max(-5, Math.min(5, s[3])));
          s = env.step(a);
          for (let i = 0; i < NB; i++) expect(boxDistance(WALL_BOXES, i, s[0], s[1])).toBeGreaterThanOrEqual(r - 1e-12);
          expect(Math.hypot(s[2], s[3])).toBeLessThanOrEqual(speedBound(vClip) + 1e-12);
        }
      }),
      { numRuns: 300 },
    );
    expect(runs).toBe(300);
  });

  it('clips the velocity to [-5, 5] before the step and the action to [-1, 1]', () => {
    const fast = env.replay([1.8, 2.8, 100, 0], [0, 0]);
    const clipped = env.replay([1.8, 2.8, 5, 0], [0, 0]);
    expect(fast.subarray(4)).toEqual(clipped.subarray(4));
    expect(env.replay([1.8, 2.8, 0, 0], [7, -3])).toEqual(env.replay([1.8, 2.8, 0, 0], [1, -1]));
  });

  it('free flight from rest under u = (1, 0): v = 100 t / m less damping, in the corridor cell', () => {
    // implicit damping over 5 substeps: v5 = sum_k h F m^(k-1) / (m+h)^k ~ 1.1865 (1.1937 undamped)
    const s = env.replay([1.8, 2.8, 0, 0], [1, 0]).subarray(4);
    expect(s[2]).toBeGreaterThan(1.18);
    expect(s[2]).toBeLessThan(100 * 0.05 / m);
    expect(s[1]).toBe(2.8);
    expect(s[3]).toBe(0);
  });

  it('a head-on wall hit ends at distance r with zero normal velocity and keeps the tangential velocity', () => {
    // free cell (w=1) spans qpos x in [0.3, 1.3]; the wall cell w=0 ends at x = 0.3
    const s = env.replay([0.45, 1.5, -5, 1], [0, 0]).subarray(4);
    expect(s[0]).toBeCloseTo(0.3 + r, 12);
    expect(s[2]).toBe(0);
    const free = env.replay([1.8, 2.8, 0, 1], [0, 0]).subarray(4);
    expect(s[3]).toBe(free[3]);
  });

  it('isSuccess: position distance < 0.5 (0.49 yes, 0.5 no); velocities ignored', () => {
    expect(env.isSuccess([1, 1, 3, 3], [1.49, 1, -3, 0])).toBe(true);
    expect(env.isSuccess([1, 1, 0, 0], [1, 1.5, 0, 0])).toBe(false);
  });

  it('sampleStartGoal: positions in the valid region, |v| <= 5.2262554, deterministic', () => {
    for (let seed = 0; seed < 200; seed++) {
      const a = env.sampleStartGoal(new Rng(seed));
      for (const s of [a.start, a.goal]) {
        expect(inSampleRegion(s[0], s[1])).toBe(true);
        expect(Math.abs(s[2])).toBeLessThanOrEqual(POINTMAZE.sampleVel);
        expect(Math.abs(s[3])).toBeLessThanOrEqual(POINTMAZE.sampleVel);
      }
      expect(env.sampleStartGoal(new Rng(seed))).toEqual(a);
    }
  });

  it('render: known pixels (wall corner, agent centre, floor) and same bytes for the same state', () => {
    const e = new PointMazeEnv();
    const s = [0.8, 0.8, 0, 0]; // world (2, 2): centre of free cell (1, 1)
    const img = e.render(s, 100); // 20 px per maze cell
    const px = (x: number, y: number): number[] => Array.from(img.subarray((y * 100 + x) * 3, (y * 100 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([...POINTMAZE_COLORS.wall]);
    expect(px(30, 70)).toEqual([...POINTMAZE_COLORS.agent]); // column (2 - 0.5) 20, row (5.5 - 2) 20
    expect([[...POINTMAZE_COLORS.floorA], [...POINTMAZE_COLORS.floorB]]).toContainEqual(px(70, 30)); // free cell (3, 3)
    expect(e.render(s, 100)).toEqual(img);
    expect(e.observe().image.length).toBe(224 * 224 * 3);
  });

  it('bad input: NaN / wrong-length actions and states', () => {
    env.reset([1, 1, 0, 0]);
    expect(() => env.step([0, NaN])).toThrow(ValueError);
    expect(() => env.step([0, 0, 0])).toThrow(ShapeError);
    expect(() => env.reset([1, 1, 0])).toThrow(ShapeError);
    expect(() => env.render([1, 1, 0, 0], 1.5)).toThrow(ValueError);
  });
});
