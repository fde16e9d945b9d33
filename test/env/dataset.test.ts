import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuantwmError, ValueError } from '../../src/tensor/errors.js';
import { Rng } from '../../src/tensor/rng.js';
import { crc32 } from '../../src/env/crc32.js';
import { DatasetFormatError, UnknownEnvError } from '../../src/env/errors.js';
import { makeEnv } from '../../src/env/registry.js';
import { Dataset, meanStd } from '../../src/env/dataset/dataset.js';
import { generateDataset } from '../../src/env/dataset/generate.js';
import { getWindow, normalize, denormalize, sampleDatasetStartGoal, splitEpisodes, windowIndex } from '../../src/env/dataset/load.js';
import { DATASET_MAGIC, decodeDataset, encodeDataset } from '../../src/env/dataset/store.js';
import type { EnvName } from '../../src/env/types.js';

const small: Record<EnvName, Dataset> = {
  wall: generateDataset({ env: 'wall', trajectories: 9, steps: 20, seed: 3 }),
  pointmaze: generateDataset({ env: 'pointmaze', trajectories: 5, steps: 30, seed: 3 }),
  pusht: generateDataset({ env: 'pusht', trajectories: 3, seed: 3 }), // 100..200 steps each
};
const bytes = encodeDataset(small.wall, { episodesPerChunk: 4 });

/** Re-frame a header object as a file with a valid CRC and the original payload. */
function withHeader(file: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const dv = new DataView(file.buffer, file.byteOffset);
  const hlen = dv.getUint32(8, true);
  const header = decode(file.subarray(12, 12 + hlen)) as Record<string, unknown>;
  edit(header);
  const nh = encode(header);
  const payload = file.subarray(16 + hlen);
  const out = new Uint8Array(16 + nh.length + payload.length);
  out.set(DATASET_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, nh.length, true);
  out.set(nh, 12);
  new DataView(out.buffer).setUint32(12 + nh.length, crc32(nh), true);
  out.set(payload, 16 + nh.length);
  return out;
}

describe('dataset generation and storage', () => {
  it.each(['wall', 'pointmaze', 'pusht'] as const)('%s: replaying the stored start and actions reproduces the stored states and proprio bit for bit', (name) => {
    const ds = decodeDataset(encodeDataset(small[name]));
    const env = makeEnv(name, ds.envParams);
    for (let k = 0; k < ds.episodes; k++) {
      const st = ds.episodeStates(k);
      const traj = Float32Array.from(env.replay(st.subarray(0, ds.stateDim), ds.episodeActions(k)));
      expect(traj).toEqual(st);
      const P = ds.proprioDim;
      for (let t = 0; t <= ds.lengths[k]; t++) expect(env.proprioOf(traj.subarray(t * ds.stateDim, (t + 1) * ds.stateDim))).toEqual(ds.episodeProprio(k).subarray(t * P, (t + 1) * P));
    }
  });

  it('round trip keeps every field; same options give the same bytes, another seed different bytes', () => {
    const ds = decodeDataset(bytes);
    const o = small.wall;
    expect(ds.env).toBe('wall');
    expect(ds.lengths).toEqual(o.lengths);
    expect(ds.states).toEqual(o.states);
    expect(ds.actions).toEqual(o.actions);
    expect(ds.proprio).toEqual(o.proprio);
    expect(ds.stats).toEqual(o.stats);
    expect(ds.info).toEqual(o.info);
    expect(ds.generator).toEqual(o.generator);
    expect(ds.envParams).toEqual(o.envParams);
    expect(encodeDataset(generateDataset({ env: 'wall', trajectories: 9, steps: 20, seed: 3 }), { episodesPerChunk: 4 })).toEqual(bytes);
    expect(encodeDataset(generateDataset({ env: 'wall', trajectories: 9, steps: 20, seed: 4 }), { episodesPerChunk: 4 })).not.toEqual(bytes);
  });

  it('episode k depends only on (seed, k): a longer run starts with the shorter one', () => {
    const a = generateDataset({ env: 'pointmaze', trajectories: 2, steps: 30, seed: 3 });
    expect(a.states).toEqual(small.pointmaze.states.subarray(0, a.states.length));
    expect(a.actions).toEqual(small.pointmaze.actions.subarray(0, a.actions.length));
  });

  it('PushT episodes have 100..200 actions; stats are per-dimension mean and unbiased std', () => {
    for (const L of small.pusht.lengths) {
      expect(L).toBeGreaterThanOrEqual(100);
      expect(L).toBeLessThanOrEqual(200);
    }
    expect(meanStd([1, 10, 2, 20, 3, 30, 4, 40], 2)).toEqual({ mean: [2.5, 25], std: [Math.sqrt(5 / 3), Math.sqrt(500 / 3)] });
    expect(meanStd([5, 5, 5], 1).std).toEqual([1]); // zero spread -> 1, never a division by 0
    const ms = meanStd(small.pusht.actions, 2);
    expect(small.pusht.stats.action).toEqual(ms);
  });

  it('a truncated file is an error at every cut point, never shorter data', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (cut) => {
        runs++;
        expect(() => decodeDataset(bytes.subarray(0, cut))).toThrow(DatasetFormatError);
      }),
      { numRuns: 200, examples: [[0], [15], [16], [bytes.length - 1]] },
    );
    expect(runs).toBeGreaterThan(0);
    const grown = new Uint8Array(bytes.length + 3);
    grown.set(bytes);
    expect(() => decodeDataset(grown)).toThrow(/trailing/);
  });

  it('any flipped byte is detected (magic, header CRC, compressed-chunk CRC, data CRC or inflate error)', () => {
    // every byte once, with a rotating single-bit flip (DEFLATE padding bits included)
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] ^= 1 << (i % 8);
      expect(() => decodeDataset(bad)).toThrow(QuantwmError);
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const bad = bytes.slice();
        bad[i] ^= x;
        expect(() => decodeDataset(bad)).toThrow(QuantwmError);
      }),
      { numRuns: 300 },
    );
  });

  it('a well-framed header with bad fields is rejected with a named field', () => {
    expect(() => decodeDataset(withHeader(bytes, (h) => (h.env = 'cartpole')))).toThrow(/unknown env/);
    expect(() => decodeDataset(withHeader(bytes, (h) => (h.version = 2)))).toThrow(/version/);
    expect(() => decodeDataset(withHeader(bytes, (h) => ((h.lengths as number[])[0] = 19)))).toThrow(/lengths imply/);
    expect(() => decodeDataset(withHeader(bytes, (h) => ((h.lengths as number[])[0] = -1)))).toThrow(/lengths\[0\]/);
    expect(() => decodeDataset(withHeader(bytes, (h) => ((h.stats as { action: { std: number[] } }).action.std = [1])))).toThrow(/stats.action.std/);
    expect(() => decodeDataset(new Uint8Array(40))).toThrow(/magic/);
    // a header claiming 10^7-step episodes is refused before anything that large is allocated
    const huge = (h: Record<string, unknown>): void => {
      const L = (h.lengths as number[]).map(() => 1e7);
      h.lengths = L;
      const arrays = h.arrays as Record<string, { rows: number }>;
      arrays.states.rows = arrays.proprio.rows = L.length * (1e7 + 1);
      arrays.actions.rows = L.length * 1e7;
    };
    expect(() => decodeDataset(withHeader(bytes, huge))).toThrow(/compressed payload bytes can hold/);
  });
});

describe('split, windows, normalisation, dataset goals', () => {
  it('splitEpisodes: floor(0.9 n) train, disjoint, covering, deterministic for seed 42', () => {
    for (const n of [0, 1, 9, 10, 1920]) {
      const { train, val } = splitEpisodes(n);
      expect(train.length).toBe(Math.floor(0.9 * n));
      expect([...train, ...val].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(splitEpisodes(n)).toEqual({ train, val });
    }
    expect(splitEpisodes(100, 0.9, 1).train).not.toEqual(splitEpisodes(100).train);
    expect(() => splitEpisodes(10, 1.5)).toThrow(ValueError);
  });

  it('windowIndex and getWindow follow TrajSlicerDataset: obs every f steps, the n f actions grouped (n, f A), normalised', () => {
    const ds = small.pointmaze; // 5 episodes x 30 actions
    const spec = { numFrames: 4, frameskip: 5 };
    const idx = windowIndex(ds, [0, 2], spec);
    expect(idx.length / 2).toBe(2 * (30 - 20 + 1));
    expect(Array.from(idx.subarray(0, 4))).toEqual([0, 0, 0, 1]);
    const w = getWindow(ds, 2, 7, spec);
    const S = ds.stateDim;
    const A = ds.actionDim;
    const es = ds.episodeStates(2);
    const ea = ds.episodeActions(2);
    for (let i = 0; i < 4; i++) {
      expect(Array.from(w.states.subarray(i * S, (i + 1) * S))).toEqual(Array.from(es.subarray((7 + 5 * i) * S, (8 + 5 * i) * S)));
      for (let j = 0; j < 5; j++) {
        for (let d = 0; d < A; d++) {
          const expected = Math.fround((ea[(7 + 5 * i + j) * A + d] - ds.stats.action.mean[d]) / ds.stats.action.std[d]);
          expect(w.actions[i * 5 * A + j * A + d]).toBe(expected);
        }
      }
    }
    expect(w.proprio.length).toBe(4 * ds.proprioDim);
    expect(() => getWindow(ds, 2, 11, spec)).toThrow(ValueError); // 11 + 20 > 30
    const x = Float32Array.of(1, 2, 3, 4);
    expect(Array.from(denormalize(normalize(x.slice(), ds.stats.action), ds.stats.action)).map((v, i) => Math.abs(v - x[i]) < 1e-5)).toEqual([true, true, true, true]);
  });

  it('sampleDatasetStartGoal replays 25 dataset actions from a dataset state (DINO-WM dset goals)', () => {
    const ds = small.pusht;
    const env = makeEnv('pusht', { imageSize: 32 });
    const g = sampleDatasetStartGoal(env, ds, new Rng(1));
    expect(g.actions.length).toBe(50);
    expect(g.start).toEqual(ds.stateAt(g.episode, g.offset));
    const traj = env.replay(g.start, g.actions);
    expect(g.goal).toEqual(traj.slice(25 * 7));
    expect(sampleDatasetStartGoal(env, ds, new Rng(1))).toEqual(g);
    expect(() => sampleDatasetStartGoal(makeEnv('wall'), ds, new Rng(1))).toThrow(ValueError);
  });

  it('Wall policies: door-steered episodes cross far more often than the random walk; the fraction is recorded', () => {
    const door = generateDataset({ env: 'wall', trajectories: 40, policy: 'door', seed: 1 });
    const walk = generateDataset({ env: 'wall', trajectories: 40, policy: 'random', seed: 1 });
    expect(door.info.crossingFraction).toBeGreaterThan(0.6);
    expect(walk.info.crossingFraction).toBeLessThan(0.4);
    expect(small.wall.info.crossingFraction).toBeGreaterThanOrEqual(0);
  });

  it('bad options and names: unknown env, unknown policy, zero trajectories', () => {
    expect(() => makeEnv('cartpole')).toThrow(UnknownEnvError);
    expect(makeEnv('wall', { imageSize: 64 }).imageSize).toBe(64);
    expect(() => generateDataset({ env: 'cartpole' })).toThrow(UnknownEnvError);
    expect(() => generateDataset({ env: 'wall', policy: 'pusher' })).toThrow(ValueError);
    expect(() => generateDataset({ env: 'wall', trajectories: 0 })).toThrow(ValueError);
    expect(() => generateDataset({ env: 'pointmaze', steps: 0 })).toThrow(ValueError);
  });
});
