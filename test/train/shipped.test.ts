import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadWorldModel, readModelFile } from '../../src/nn/model-file.js';
import { paramCount } from '../../src/nn/weights.js';
import { evaluate } from '../../src/plan/evaluator.js';
import { CemPlanner } from '../../src/plan/planners.js';
import { defaultSettings, makeTask } from '../../src/study/task.js';
import type { Tensor } from '../../src/tensor/tensor.js';

/**
 * The weights quantwm ships: each file reads back through the checksummed .qwm reader, carries
 * the config and training record docs/models.md quotes, and the world models hold the one frozen
 * encoder bit for bit; the Wall model plans its first evaluation episode to success.
 */
const read = (f: string) => readModelFile(new Uint8Array(readFileSync(`weights/${f}`)), { file: f });
const bits = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

const WORLD_MODELS = [
  { file: 'wall.qwm', env: 'wall', numHist: 1, proprioDim: 2 },
  { file: 'pointmaze.qwm', env: 'pointmaze', numHist: 3, proprioDim: 4 },
  { file: 'pusht.qwm', env: 'pusht', numHist: 3, proprioDim: 4 },
] as const;

describe('shipped weights', () => {
  const encoder = read('encoder.qwm');

  it('encoder.qwm: the compact DINOv2-shaped encoder, 200,832 parameters, made by quantwm train encoder', () => {
    expect(encoder.header.kind).toBe('encoder');
    let n = 0;
    for (const t of encoder.tensors.values()) n += t.size;
    expect(n).toBe(200_832);
    expect(String(encoder.meta.command)).toMatch(/^quantwm train encoder /);
  });

  for (const w of WORLD_MODELS) {
    it(`${w.file}: config (num_hist ${w.numHist}), training record, and the frozen encoder bit for bit`, () => {
      const f = read(w.file);
      const m = f.header.model!;
      expect(f.header.kind).toBe('world-model');
      expect(m.name).toBe(`compact-${w.env}`);
      expect(m.predictor.numFrames).toBe(w.numHist);
      expect(m.proprioDim).toBe(w.proprioDim);
      expect(String(f.meta.command)).toMatch(new RegExp(`^quantwm train wm --env ${w.env} `));
      const history = (f.meta.training as { history: { val: number }[] }).history;
      expect(history.length).toBeGreaterThan(0);
      for (const h of history) expect(h.val).toBeGreaterThan(0);
      for (const h of history) expect(h.val).toBeLessThan(0.01);
      for (const [name, t] of encoder.tensors) {
        const mine = f.tensors.get(name);
        expect(mine, name).toBeDefined();
        expect(bits(mine!).equals(bits(t)), name).toBe(true);
      }
      const model = loadWorldModel(new Uint8Array(readFileSync(`weights/${w.file}`))).model;
      const predictorParams = paramCount(new Map([...model.weights].filter(([k]) => !k.startsWith('encoder.') && !k.startsWith('decoder.'))));
      expect(predictorParams).toBe(w.numHist === 1 ? 302_540 : 305_248);
    });
  }

  it('wall.qwm plans evaluation episode 0 (seed 1) to success in its first MPC iteration with DINO-WM CEM settings', { timeout: 120_000 }, () => {
    const wm = loadWorldModel(new Uint8Array(readFileSync('weights/wall.qwm'))).model;
    const s = defaultSettings('wall');
    const task = makeTask('wall', wm.config.imageSize, { mean: wm.stats.actionMean, std: wm.stats.actionStd });
    const r = evaluate(task, wm, new CemPlanner(wm, s.cem, s.objective), { ...s.eval, episodes: 1, mpc: { maxIter: 1 } });
    // docs/eval/wall-cem-mpc10.json: episode 0 solved at iteration 1 (same seed, same settings)
    expect(r.episodes[0].seed).toBe(1);
    expect(r.episodes[0].success).toBe(true);
    expect(r.episodes[0].success_iter).toBe(1);
  });
});
