import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/tensor/rng.js';
import { crc32 } from '../../src/env/crc32.js';
import { generateDataset } from '../../src/env/dataset/generate.js';
import { encodeDataset } from '../../src/env/dataset/store.js';
import { makeEnv } from '../../src/env/registry.js';

/**
 * Bit-level snapshots: the same seed must give the same bytes on every engine (Node, Deno, Bun,
 * browsers), so these CRC-32s are pinned. They change only when the physics, the renderer, the
 * generator (bump GENERATOR_VERSION) or the file format change on purpose; update them then.
 */
describe('determinism snapshots (same seed, same bytes)', () => {
  const hex = (b: Uint8Array): string => crc32(b).toString(16).padStart(8, '0');
  const f64 = (v: Float64Array): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

  it.each(['wall', 'pointmaze', 'pusht'] as const)('%s: start/goal, a 40-step trajectory and 64 px renders', (name) => {
    const env = makeEnv(name, { imageSize: 64 });
    const { start, goal } = env.sampleStartGoal(new Rng(11));
    const rng = new Rng(12);
    const actions = Float64Array.from({ length: 40 * env.actionDim }, () => rng.normal() * 0.4);
    const traj = env.replay(start, actions);
    const last = traj.slice(40 * env.stateDim);
    const got = {
      states: hex(f64(Float64Array.from([...start, ...goal, ...traj]))),
      pixels: hex(Uint8Array.from([...env.render(start, 64), ...env.render(last, 64), ...env.render(goal, 37)])),
    };
    expect(got).toEqual(SNAPSHOT[name]);
  });

  it('dataset bytes for a fixed seed', () => {
    const got = (['wall', 'pointmaze', 'pusht'] as const).map((env) => hex(encodeDataset(generateDataset({ env, trajectories: 3, steps: env === 'pusht' ? 0 : 20, seed: 5 }))));
    expect(got).toEqual(SNAPSHOT.datasets);
  });
});

const SNAPSHOT: Record<string, unknown> = {
  wall: { states: '45c126d3', pixels: '6e9c1395' },
  pointmaze: { states: '594c69f3', pixels: 'e03dfa16' },
  pusht: { states: '7a3e4e19', pixels: '76a165e6' },
  // also pins fflate's deflate output (fflate 0.8) and @msgpack/msgpack's header encoding
  datasets: ['2d4740c8', 'f6c4203e', '6c5e2073'],
};
