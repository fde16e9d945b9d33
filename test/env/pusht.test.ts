import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../src/tensor/errors.js';
import { Rng } from '../../src/tensor/rng.js';
import { PUSHT, T_BOXES, agentOverlap, boxCorners, cogWorld, pose, wallOverlap } from '../../src/env/pusht/geometry.js';
import { PushTEnv, pushtAngleError, samplePushTState } from '../../src/env/pusht/env.js';
import { PUSHT_COLORS } from '../../src/env/pusht/render.js';
import { mod2pi } from '../../src/env/trig.js';
import { ScriptedPusher } from '../../src/env/pusht/pusher.js';

const env = new PushTEnv({ imageSize: 64 });

/** A random reference start with the agent placed within 100 px of the block's CoG, not overlapping it. */
const nearStart = fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((seed) => {
  const rng = new Rng(seed);
  for (;;) {
    const s = samplePushTState(rng);
    const [gx, gy] = cogWorld(pose(s[2], s[3], s[4]));
    s[0] = gx + 200 * (rng.uniform() - 0.5);
    s[1] = gy + 200 * (rng.uniform() - 0.5);
    if (agentOverlap(pose(s[2], s[3], s[4]), s[0], s[1]) < 0) return s;
  }
});
/** Actions up to |a_i| <= 1 (PD targets 100 px away, agent speeds up to ~400 px/s; DINO-WM's action std is 0.2). */
const act = fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }));
/** Half the actions aim at the block's CoG so most runs are contact-rich. */
function aimed(s: Float64Array, a: [number, number], aim: boolean): [number, number] {
  if (!aim) return a;
  const [gx, gy] = cogWorld(pose(s[2], s[3], s[4]));
  const x = (gx - s[0]) / 100 + 0.3 * a[0];
  const y = (gy - s[1]) / 100 + 0.3 * a[1];
  const n = Math.hypot(x, y);
  return n > 1 ? [x / n, y / n] : [x, y];
}

/** Local pairwise corner distances of both boxes (the rigid shape). */
function shapeDistances(p: ReturnType<typeof pose>): number[] {
  const pts = [...boxCorners(p, 0), ...boxCorners(p, 1)];
  const out: number[] = [];
  for (let i = 0; i < pts.length; i += 2) for (let j = i + 2; j < pts.length; j += 2) out.push(Math.hypot(pts[i] - pts[j], pts[i + 1] - pts[j + 1]));
  return out;
}
const LOCAL = shapeDistances(pose(0, 0, 0));

describe('PushT physics properties', () => {
  // Overlap budget: slop 0.1 + 0.5 px. The solver corrects the linearised depth exactly; the
  // rotation per substep is at most depth / (2 sqrt(I/m)) <= 4 px / 109.5 = 0.037 rad at 400 px/s,
  // so the second-order miss is <= 76.5 px * 0.037^2 / 2 = 0.05 px, plus Gauss-Seidel residue
  // when both boxes touch the agent (measured <= 0.07 px over 25k steps).
  const OVERLAP_TOL = PUSHT.slop + 0.5;

  it(`property: block rigid, inside the arena (<= slop), still without contact, agent overlap <= slop + 0.5 px unless the block touched a wall`, () => {
    let steps = 0;
    let contactSteps = 0;
    let freeSteps = 0;
    fc.assert(
      fc.property(nearStart, fc.array(fc.tuple(act, fc.boolean()), { minLength: 1, maxLength: 30 }), (s0, seq) => {
        env.reset(s0);
        let s = env.state();
        let wallSeen = false;
        for (const [a, aim] of seq) {
          const before = s;
          s = env.step(aimed(s, a, aim));
          steps++;
          const p = pose(s[2], s[3], s[4]);
          const d = shapeDistances(p);
          d.forEach((v, i) => expect(Math.abs(v - LOCAL[i])).toBeLessThan(1e-9));
          expect(wallOverlap(p)).toBeLessThanOrEqual(PUSHT.slop + 1e-9);
          if (env.lastWallSubsteps > 0) wallSeen = true;
          if (env.lastContactSubsteps === 0 && env.lastWallSubsteps === 0) {
            freeSteps++;
            expect(s[2]).toBe(before[2]);
            expect(s[3]).toBe(before[3]);
            expect(s[4]).toBe(mod2pi(before[4])); // the step only wraps the angle into [0, 2 pi)
          } else contactSteps++;
          if (!wallSeen) expect(agentOverlap(p, s[0], s[1])).toBeLessThanOrEqual(OVERLAP_TOL);
        }
      }),
      { numRuns: 150 },
    );
    expect(contactSteps).toBeGreaterThan(100);
    expect(freeSteps).toBeGreaterThan(100);
  });

  it('a push through the centre of gravity translates without rotation; an off-centre push rotates', () => {
    // block at angle 0, origin (256, 200): stem spans x in [241, 271], CoG (256, 245)
    const s = env.replay([256 - 15 - 15 - 2, 245, 256, 200, 0, 0, 0], [0.3, 0, 0.3, 0, 0.3, 0]).subarray(14);
    expect(s[4]).toBe(0);
    expect(s[3]).toBe(200);
    expect(s[2]).toBeGreaterThan(256 + 10);
    // push the bar's underside at x = -45 upwards (-y): r x n = (-45)(-1) - (-15)(0) > 0, angle grows
    const r = env.replay([256 - 45, 200 + 30 + 15 + 2, 256, 200, 0, 0, 0], [0, -0.3, 0, -0.3]).subarray(14);
    expect(r[4]).toBeGreaterThan(0);
    expect(r[4]).toBeLessThan(1);
  });

  it('the block does not move while the agent moves far from it (bit-exact)', () => {
    const s0 = [60, 60, 300, 300, 1.25, 0, 0];
    const traj = env.replay(s0, [0.2, 0.1, -0.3, 0.2, 0.1, 0.1]);
    for (let t = 1; t <= 3; t++) expect(Array.from(traj.subarray(t * 7 + 2, t * 7 + 5))).toEqual([300, 300, 1.25]);
  });

  it('replay from any stored state reproduces the continuation exactly (the 7-d state is complete)', () => {
    const rng = new Rng(5);
    const s0 = samplePushTState(rng);
    const pusher = new ScriptedPusher(rng);
    env.reset(s0);
    const acts: number[] = [];
    const states: Float64Array[] = [env.state()];
    for (let t = 0; t < 60; t++) {
      const a = pusher.act(env.state());
      acts.push(...a);
      states.push(env.step(a));
    }
    const tail = env.replay(states[20], acts.slice(40));
    for (let t = 20; t <= 60; t++) expect(Array.from(tail.subarray((t - 20) * 7, (t - 19) * 7))).toEqual(Array.from(states[t]));
  });

  it('success: position distance < 20 and wrapped angle difference < pi/9', () => {
    const g = [100, 100, 200, 200, 0.02, 5, 5];
    expect(env.isSuccess([100, 100, 200, 219.9, 6.2, 0, 0], g)).toBe(true); // angle diff wraps to 0.103
    expect(env.isSuccess([100, 100, 200, 220, 0.02, 0, 0], g)).toBe(false);
    expect(env.isSuccess([100, 100, 200, 200, 0.02 + Math.PI / 9, 0, 0], g)).toBe(false);
    expect(env.isSuccess([100, 100, 200, 200, 0.02 + Math.PI / 9 - 1e-6, 0, 0], g)).toBe(true);
    expect(pushtAngleError([0, 0, 0, 0, 0.1, 0, 0], [0, 0, 0, 0, 2 * Math.PI - 0.1, 0, 0])).toBeCloseTo(-0.2, 12);
  });

  it('sampleStartGoal is deterministic, starts off the block, goals lie in the arena', () => {
    for (let seed = 0; seed < 20; seed++) {
      const a = env.sampleStartGoal(new Rng(seed));
      expect(env.sampleStartGoal(new Rng(seed))).toEqual(a);
      expect(agentOverlap(pose(a.start[2], a.start[3], a.start[4]), a.start[0], a.start[1])).toBeLessThan(0);
      expect(wallOverlap(pose(a.goal[2], a.goal[3], a.goal[4]))).toBeLessThanOrEqual(PUSHT.slop + 1e-9);
    }
  });

  it('render: known pixels for the reference colours at 512 (scale 1); same bytes for the same state', () => {
    const e = new PushTEnv();
    const s = [400, 100, 256, 380, 0, 0, 0]; // block bar y in [380, 410], stem below; far from the anchor T
    const img = e.render(s, 512);
    const px = (x: number, y: number): number[] => Array.from(img.subarray((y * 512 + x) * 3, (y * 512 + x) * 3 + 3));
    expect(px(100, 100)).toEqual([...PUSHT_COLORS.background]);
    expect(px(5, 200)).toEqual([...PUSHT_COLORS.wall]); // the x = 5 wall segment, radius 2
    expect(px(400, 100)).toEqual([...PUSHT_COLORS.agentInner]);
    expect(px(400 + 13, 100)).toEqual([...PUSHT_COLORS.agent]); // between radius 11 and 15
    expect(px(220, 395)).toEqual([...PUSHT_COLORS.blockFill]); // inside the bar, away from its outline
    expect(px(220, 380)).toEqual([...PUSHT_COLORS.blockEdge]); // on the bar's top edge
    expect(px(245, 266)).toEqual([...PUSHT_COLORS.goal]); // anchor T (256, 256, pi/4), local (0, 15) -> (245.4, 266.6)
    expect(e.render(s, 512)).toEqual(img);
    const small = e.render(s, 64);
    expect(small.length).toBe(64 * 64 * 3);
    expect(e.render(s, 64)).toEqual(small);
  });

  it('geometry: T boxes as the reference (bar 120x30, stem 30x90) and CoG (0, 45)', () => {
    expect(T_BOXES).toEqual([
      [-60, 0, 60, 30],
      [-15, 30, 15, 120],
    ]);
    expect(cogWorld(pose(10, 20, 0))).toEqual([10, 65]);
  });

  it('bad input: NaN / wrong-length actions and states', () => {
    env.reset([256, 400, 256, 300, 0, 0, 0]);
    expect(() => env.step([Infinity, 0])).toThrow(ValueError);
    expect(() => env.step([0])).toThrow(ShapeError);
    expect(() => env.reset([1, 2, 3, 4, 5, 6])).toThrow(ShapeError);
    expect(() => env.proprioOf([1, 2, 3, 4, NaN, 6, 7])).toThrow(ValueError);
  });
});
