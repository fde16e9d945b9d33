/**
 * PushT dynamics without pymunk (the "faithful simplified physics" of the reference spec D.3).
 *
 * State s (7) = [agent_x, agent_y, block_x, block_y, block_angle, agent_vx, agent_vy].
 * One env step with action a: target = agent + 100 a; then 10 substeps of dt = 0.01:
 *   1. PD control of the kinematic agent: v += (100 (target - p) - 20 v) dt; p += v dt.
 *   2. The block is quasi-static (space.damping = 0 zeroes its velocity every substep):
 *      v_block = 0, omega = 0.
 *   3. Contacts: agent disc (r 15) vs both T boxes, and block corners vs the arena walls
 *      (x, y in [7, 504]). Each contact asks the block's normal velocity at the contact point
 *      to be >= max(0, depth - slop) / dt (frictionless, inelastic, full position correction).
 *   4. Sequential impulses, 10 iterations (pymunk's `iterations`), accumulated impulse >= 0:
 *      j = (target - v_n) / (1/m + (r x n)^2 / I);  v += j n / m;  omega += (r x n) j / I;
 *      first over the agent contacts, then over the wall contacts, so the static walls win when
 *      the kinematic agent pins the block (no solution exists then; one joint solve lets the
 *      two sides escalate each other's impulses into large spurious rotations).
 *      An agent contact's target is capped at (v_agent . n)+ + 1 px/substep (MAX_CORRECTION_SPEED).
 *   5. Integrate the block about its centre of gravity (local (0, 45)).
 *   6. Hard guard: translate the block back inside the arena up to the slop (only acts when the
 *      agent pins it against a wall, where the two constraints cannot both hold).
 * After the 10 substeps the angle is wrapped into [0, 2 pi) (the reference's state reports
 * `angle % 2pi`).
 *
 * Departures from Chipmunk (docs/environments.md): the block moves in the same substep its
 * contact is solved (no one-substep lag, so the 7-d state is complete and replay from any stored
 * state is exact); penetration beyond the slop is corrected fully each substep instead of by
 * 1 - 0.9^0.6 = 6.1 %; no warm starting; no contact caching.
 */
import { mod2pi } from '../trig.js';
import { PUSHT, T_BOXES, circleBox, pose, toLocal, toWorld, boxCorners, type Pose } from './geometry.js';

interface Contact {
  rx: number;
  ry: number;
  nx: number;
  ny: number;
  rn: number;
  target: number;
  mass: number;
  acc: number;
}

/**
 * Extra normal speed (px/s) an agent contact may ask for beyond the agent's own normal speed:
 * 1 px per substep. Without pinning, (depth - slop)/dt never exceeds v_agent.n by more than
 * this, so the cap is inactive; when the agent pins the block against a wall the depth grows
 * each substep and the cap keeps the block's response bounded by the agent's speed.
 */
export const MAX_CORRECTION_SPEED = 1 / PUSHT.dt;

const agentContacts: Contact[] = [];
const wallContacts: Contact[] = [];

function addContact(list: Contact[], rx: number, ry: number, nx: number, ny: number, target: number): void {
  const rn = rx * ny - ry * nx;
  list.push({ rx, ry, nx, ny, rn, target, mass: 1 / (1 / PUSHT.mass + (rn * rn) / PUSHT.inertia), acc: 0 });
}

const vel = { x: 0, y: 0, w: 0 };

/** Sequential impulses over one contact list (accumulated impulse >= 0), updating `vel`. */
function solve(list: Contact[]): void {
  for (let it = 0; it < PUSHT.iterations; it++) {
    for (const c of list) {
      const vn = (vel.x - vel.w * c.ry) * c.nx + (vel.y + vel.w * c.rx) * c.ny;
      const next = Math.max(0, c.acc + (c.target - vn) * c.mass);
      const dj = next - c.acc;
      c.acc = next;
      vel.x += (c.nx * dj) / PUSHT.mass;
      vel.y += (c.ny * dj) / PUSHT.mass;
      vel.w += (c.rn * dj) / PUSHT.inertia;
    }
  }
}

/** Agent-block and block-wall contacts found in the last `blockSubstep` (for statistics). */
export let lastAgentContacts = 0;
export let lastWallContacts = 0;

/**
 * Solve and integrate the block for one substep given the (already moved) agent.
 * Updates s[2..4] in place.
 */
export function blockSubstep(s: Float64Array): void {
  const p = pose(s[2], s[3], s[4]);
  const [gx, gy] = toWorld(p, PUSHT.cogX, PUSHT.cogY);
  agentContacts.length = 0;
  wallContacts.length = 0;
  // agent vs T boxes
  const [lx, ly] = toLocal(p, s[0], s[1]);
  for (let b = 0; b < T_BOXES.length; b++) {
    const c = circleBox(lx, ly, PUSHT.agentRadius, b);
    if (c === null || c.pen <= 0) continue;
    const [wx, wy] = toWorld(p, c.px, c.py);
    // push direction: from the agent into the block = -(local normal) rotated to world
    const nx = -(p.c * c.nx - p.s * c.ny);
    const ny = -(p.s * c.nx + p.c * c.ny);
    const cap = Math.max(0, s[5] * nx + s[6] * ny) + MAX_CORRECTION_SPEED;
    addContact(agentContacts, wx - gx, wy - gy, nx, ny, Math.min(Math.max(0, c.pen - PUSHT.slop) / PUSHT.dt, cap));
  }
  lastAgentContacts = agentContacts.length;
  // block corners vs arena walls
  const lo = PUSHT.wallLo + PUSHT.wallRadius;
  const hi = PUSHT.wallHi - PUSHT.wallRadius;
  const wallTarget = (d: number): number => Math.max(0, d - PUSHT.slop) / PUSHT.dt;
  for (let b = 0; b < T_BOXES.length; b++) {
    const v = boxCorners(p, b);
    for (let i = 0; i < 8; i += 2) {
      const vx = v[i];
      const vy = v[i + 1];
      if (vx < lo) addContact(wallContacts, vx - gx, vy - gy, 1, 0, wallTarget(lo - vx));
      if (vx > hi) addContact(wallContacts, vx - gx, vy - gy, -1, 0, wallTarget(vx - hi));
      if (vy < lo) addContact(wallContacts, vx - gx, vy - gy, 0, 1, wallTarget(lo - vy));
      if (vy > hi) addContact(wallContacts, vx - gx, vy - gy, 0, -1, wallTarget(vy - hi));
    }
  }
  lastWallContacts = wallContacts.length;
  if (agentContacts.length === 0 && wallContacts.length === 0) return; // quasi-static: no contact, no motion
  vel.x = 0;
  vel.y = 0;
  vel.w = 0;
  // agent contacts first, then the walls (static, they win when the agent pins the block)
  solve(agentContacts);
  solve(wallContacts);
  const vx = vel.x;
  const vy = vel.y;
  const w = vel.w;
  // touching within the slop: no impulse, and the pose is left bit-identical (re-deriving the
  // origin from the CoG would drift by an ulp)
  if (vx === 0 && vy === 0 && w === 0) return;
  const angle = s[4] + w * PUSHT.dt;
  const q = pose(0, 0, angle);
  const cx = gx + vx * PUSHT.dt;
  const cy = gy + vy * PUSHT.dt;
  let nx = cx - (q.c * PUSHT.cogX - q.s * PUSHT.cogY);
  let ny = cy - (q.s * PUSHT.cogX + q.c * PUSHT.cogY);
  // hard guard against wall penetration beyond the slop (pure translation)
  const np: Pose = { x: nx, y: ny, angle, c: q.c, s: q.s };
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let b = 0; b < T_BOXES.length; b++) {
    const v = boxCorners(np, b);
    for (let i = 0; i < 8; i += 2) {
      minX = Math.min(minX, v[i]);
      maxX = Math.max(maxX, v[i]);
      minY = Math.min(minY, v[i + 1]);
      maxY = Math.max(maxY, v[i + 1]);
    }
  }
  const guardX = minX < lo - PUSHT.slop ? lo - PUSHT.slop - minX : maxX > hi + PUSHT.slop ? hi + PUSHT.slop - maxX : 0;
  const guardY = minY < lo - PUSHT.slop ? lo - PUSHT.slop - minY : maxY > hi + PUSHT.slop ? hi + PUSHT.slop - maxY : 0;
  nx += guardX;
  ny += guardY;
  if (guardX !== 0 || guardY !== 0) lastWallContacts++;
  s[2] = nx;
  s[3] = ny;
  s[4] = angle;
}

/** Contact counts of one env step: substeps with agent-block / block-wall contact (0..10). */
export interface StepContacts {
  agent: number;
  wall: number;
}

/**
 * One PushT env step in place on the 7-d state.
 * @param ax,ay relative action; the PD target is agent + 100 a (no clipping, as the reference)
 * @param out receives the contact counts, if given
 * @returns the number of substeps with agent-block contact
 */
export function pushtStep(s: Float64Array, ax: number, ay: number, out?: StepContacts): number {
  const tx = s[0] + PUSHT.actionScale * ax;
  const ty = s[1] + PUSHT.actionScale * ay;
  const dt = PUSHT.dt;
  let touching = 0;
  let walls = 0;
  for (let k = 0; k < PUSHT.substeps; k++) {
    s[5] += (PUSHT.kp * (tx - s[0]) - PUSHT.kv * s[5]) * dt;
    s[6] += (PUSHT.kp * (ty - s[1]) - PUSHT.kv * s[6]) * dt;
    s[0] += s[5] * dt;
    s[1] += s[6] * dt;
    blockSubstep(s);
    if (lastAgentContacts > 0) touching++;
    if (lastWallContacts > 0) walls++;
  }
  s[4] = mod2pi(s[4]);
  if (out) {
    out.agent = touching;
    out.wall = walls;
  }
  return touching;
}
