import type { Dataset } from '../env/dataset/dataset.js';
import type { EncoderConfig } from '../nn/config.js';
import { encoderSpec } from '../nn/encoder.js';
import { saveEncoder } from '../nn/model-file.js';
import { EncoderPretrainer, mimSpec } from '../nn/train/encoder.js';
import { initWeights } from '../nn/weights.js';
import type { Platform } from '../platform/types.js';
import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { Tensor } from '../tensor/tensor.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { renderStates, stateRows } from './frames.js';

export interface EncoderRunOptions {
  platform: Platform;
  datasets: Dataset[];
  config: EncoderConfig;
  out: string;
  steps: number;
  batch: number;
  lr: number;
  maskRatio: number;
  seed: number;
  /** frames rendered once from the datasets (split evenly), 5% held out for validation */
  poolSize: number;
  checkpointEvery: number;
  command: string;
  onProgress?: (p: { phase: string; done: number; total: number; loss?: number }) => void;
}

/**
 * Self-supervised pretraining of the compact encoder on frames of every task (one encoder serves
 * all), then the encoder alone is written to `out` (frozen from here on, as DINO-WM freezes DINOv2).
 * Resumes from `${out}.ckpt`; batch i draws frames with Rng.derive(seed, i) and masks with
 * Rng.derive(seed, i, 1), so a resumed run ends where an uninterrupted one ends.
 */
export async function trainEncoder(o: EncoderRunOptions): Promise<{ bytes: Uint8Array; history: { step: number; train: number; val: number }[] }> {
  if (o.datasets.length === 0) throw new ValueError('train encoder', 'no datasets');
  const S = o.config.inputSize;
  const px = S * S * 3;
  // the frame pool: rows sampled uniformly from each dataset, rendered at the encoder's input size
  const per = Math.ceil(o.poolSize / o.datasets.length);
  const pool = new Uint8Array(per * o.datasets.length * px);
  let n = 0;
  const pick = new Rng(o.seed);
  for (const ds of o.datasets) {
    const rows = Array.from({ length: per }, () => pick.int(stateRows(ds)));
    for (let i = 0; i < rows.length; i += 512) {
      const imgs = renderStates(ds, rows.slice(i, i + 512), S);
      pool.set(imgs.data as Uint8Array, n * px);
      n += imgs.shape[0];
      o.onProgress?.({ phase: `render ${ds.env}`, done: Math.min(per, i + 512), total: per });
    }
  }
  const order = new Rng(o.seed + 1).shuffle(Array.from({ length: n }, (_, i) => i));
  const nVal = Math.max(1, Math.floor(n * 0.05));
  const valIdx = order.slice(0, nVal);
  const trainIdx = order.slice(nVal);
  const batchOf = (idx: ArrayLike<number>): Tensor => {
    const out = new Uint8Array(idx.length * px);
    for (let i = 0; i < idx.length; i++) out.set(pool.subarray(idx[i] * px, (idx[i] + 1) * px), i * px);
    return new Tensor('u8', [idx.length, S, S, 3], out);
  };

  const ckptPath = `${o.out}.ckpt`;
  let weights = initWeights([...encoderSpec(o.config), ...mimSpec(o.config)], new Rng(o.seed + 2));
  let step0 = 0;
  let history: { step: number; train: number; val: number }[] = [];
  let partial = { sum: 0, cnt: 0 };
  let resumed: ReturnType<typeof readCheckpoint> | null = null;
  if (await o.platform.exists(ckptPath)) {
    resumed = readCheckpoint(await o.platform.readFile(ckptPath), ckptPath);
    weights = resumed.weights;
    step0 = resumed.meta.step as number;
    history = resumed.meta.history as typeof history;
    partial = resumed.meta.partial as typeof partial;
  }
  const t = new EncoderPretrainer(o.config, weights, { lr: o.lr, weightDecay: 0.05, maskRatio: o.maskRatio });
  if (resumed) t.opt.importState(resumed.opt);
  const valLoss = (): number => {
    let s = 0;
    for (let i = 0; i < valIdx.length; i += 256) {
      const idx = valIdx.slice(i, i + 256);
      s += t.evalLoss(batchOf(idx), Rng.derive(o.seed, 0xfa11, i)) * idx.length;
    }
    return s / valIdx.length;
  };
  let { sum, cnt } = partial;
  for (let step = step0; step < o.steps; step++) {
    const r = Rng.derive(o.seed, step);
    const idx = Array.from({ length: o.batch }, () => trainIdx[r.int(trainIdx.length)]);
    sum += t.step(batchOf(idx), Rng.derive(o.seed, step, 1));
    cnt++;
    o.onProgress?.({ phase: 'pretrain', done: step + 1, total: o.steps, loss: sum / cnt });
    if ((step + 1) % o.checkpointEvery === 0 || step + 1 === o.steps) {
      history.push({ step: step + 1, train: sum / cnt, val: valLoss() });
      sum = 0;
      cnt = 0;
      await o.platform.writeFile(ckptPath, writeCheckpoint(weights, t.opt, { step: step + 1, history, partial: { sum, cnt }, seed: o.seed, command: o.command }));
    }
  }
  const bytes = saveEncoder(o.config, t.encoderWeights(), {
    made_by: 'quantwm train encoder',
    command: o.command,
    datasets: o.datasets.map((d) => ({ env: d.env, episodes: d.episodes, seed: d.generator.seed })),
    training: { objective: 'masked image modelling (SimMIM), pixel MSE on masked patches', steps: o.steps, batch: o.batch, lr: o.lr, mask_ratio: o.maskRatio, pool: n, seed: o.seed, history },
  });
  await o.platform.writeFile(o.out, bytes);
  return { bytes, history };
}
