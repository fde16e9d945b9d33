import type { Dataset } from '../env/dataset/dataset.js';
import { normalize, splitEpisodes, windowIndex } from '../env/dataset/load.js';
import type { EncoderConfig, WorldModelConfig } from '../nn/config.js';
import { tensorFns } from '../nn/fn.js';
import { saveWorldModel } from '../nn/model-file.js';
import { gatherWindows, type WindowSource } from '../nn/train/windows.js';
import { WmTrainer } from '../nn/train/wm.js';
import { initWeights, type WeightMap } from '../nn/weights.js';
import { WorldModel, worldModelSpec } from '../nn/world-model.js';
import type { Platform } from '../platform/types.js';
import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { renderStates, stateRows } from './frames.js';

export interface WmRunOptions {
  platform: Platform;
  dataset: Dataset;
  encoder: { config: EncoderConfig; weights: WeightMap };
  out: string;
  numHist: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  /** optimizer steps between checkpoints */
  checkpointEvery: number;
  /** open-loop steps of the loss (default 1 = DINO-WM's teacher forcing; see WmTrainer.loss) */
  rollout?: number;
  /**
   * Fine-tune a trained model instead of starting from random weights: its trainable tensors and
   * its normalisation statistics (kept, so the model's inputs keep their meaning) replace the
   * initialisation and the dataset's statistics. Its encoder must be the one given.
   */
  init?: WorldModel;
  /** validation windows evaluated per epoch (a fixed subset) */
  valWindows: number;
  /** the command line, recorded in the weight file */
  command: string;
  onProgress?: (p: { phase: string; done: number; total: number; loss?: number }) => void;
}

/** The compact world model around a pretrained encoder (predictor sized to the token width). */
export function compactWmConfig(env: string, enc: EncoderConfig, numHist: number, proprioDim: number, envActionDim: number): WorldModelConfig {
  return {
    name: `compact-${env}`,
    imageSize: enc.inputSize,
    encoder: enc,
    predictor: { numFrames: numHist, depth: 3, heads: 4, dimHead: 32, mlpDim: 4 * (enc.dim + 20), lnEps: 1e-5 },
    proprioDim,
    envActionDim,
    frameskip: 5,
    actionEmbDim: 10,
    proprioEmbDim: 10,
    decoder: null,
  };
}

/** Encode every state of the dataset with the frozen encoder: (states, P, Dv). */
export function encodeDataset(model: WorldModel, ds: Dataset, onProgress?: (done: number, total: number) => void): Float32Array {
  const n = stateRows(ds);
  const V = model.visualSize;
  const out = new Float32Array(n * V);
  const B = 256;
  for (let s = 0; s < n; s += B) {
    const rows = Array.from({ length: Math.min(B, n - s) }, (_, i) => s + i);
    const imgs = renderStates(ds, rows, model.config.imageSize);
    out.set(model.encoder.forward(tensorFns, model.preprocess(imgs)).f32, s * V);
    onProgress?.(Math.min(n, s + B), n);
  }
  return out;
}

/**
 * Train the predictor, action and proprio encoders of a compact DINO-WM on one dataset
 * (reference/quantwm-dinowm-spec.md B.7), resuming from `${out}.ckpt` when it exists. The batch
 * order of epoch e is Rng.derive(seed, e), so an interrupted and resumed run ends where an
 * uninterrupted one ends, bit for bit.
 * @returns the .qwm bytes written to `out` and the per-epoch losses
 */
export async function trainWorldModel(o: WmRunOptions): Promise<{ bytes: Uint8Array; history: { epoch: number; train: number; val: number }[] }> {
  const ds = o.dataset;
  const ckptPath = `${o.out}.ckpt`;
  const cfg = compactWmConfig(ds.env, o.encoder.config, o.numHist, ds.proprioDim, ds.actionDim);
  const R = o.rollout ?? 1;
  if (!Number.isInteger(R) || R < 1) throw new ValueError('train wm', `rollout must be a positive integer, got ${R}`);
  const stats = o.init
    ? o.init.stats
    : {
        proprioMean: Float32Array.from(ds.stats.proprio.mean),
        proprioStd: Float32Array.from(ds.stats.proprio.std),
        actionMean: Float32Array.from(ds.stats.action.mean),
        actionStd: Float32Array.from(ds.stats.action.std),
      };
  let weights: WeightMap = o.init ? initFrom(o.init, cfg, o.encoder.weights) : initWeights(worldModelSpec(cfg).filter(([n]) => !n.startsWith('encoder.')), new Rng(o.seed));
  for (const [n, t] of o.encoder.weights) weights.set(n, t);
  let epoch0 = 0;
  let batch0 = 0;
  let history: { epoch: number; train: number; val: number }[] = [];
  let partial = { sum: 0, cnt: 0 }; // running train loss of the interrupted epoch
  let resumed: ReturnType<typeof readCheckpoint> | null = null;
  if (await o.platform.exists(ckptPath)) {
    resumed = readCheckpoint(await o.platform.readFile(ckptPath), ckptPath);
    weights = resumed.weights;
    epoch0 = resumed.meta.epoch as number;
    batch0 = resumed.meta.batch as number;
    history = resumed.meta.history as typeof history;
    partial = resumed.meta.partial as typeof partial;
  }
  const model = new WorldModel(cfg, weights, stats);
  const trainer = new WmTrainer(model, { lr: o.lr, weightDecay: 0.01 });
  if (resumed) trainer.opt.importState(resumed.opt);

  const src: WindowSource = {
    lengths: ds.lengths,
    features: encodeDataset(model, ds, (d, t) => o.onProgress?.({ phase: 'encode', done: d, total: t })),
    proprio: normalize(ds.proprio.slice(), { mean: [...stats.proprioMean], std: [...stats.proprioStd] }),
    actions: normalize(ds.actions.slice(), { mean: [...stats.actionMean], std: [...stats.actionStd] }),
    P: model.P,
    Dv: model.Dv,
    proprioDim: ds.proprioDim,
    envActionDim: ds.actionDim,
  };
  const F = o.numHist + R;
  const split = splitEpisodes(ds.episodes);
  const train = windowIndex(ds, split.train, { numFrames: F, frameskip: 5 });
  const val = windowIndex(ds, split.val, { numFrames: F, frameskip: 5 });
  if (train.length === 0) throw new ValueError('train wm', `no training windows of ${F} frames x 5 steps in ${ds.env} data`);
  const nTrain = train.length / 2;
  const nb = Math.floor(nTrain / o.batch);
  const valPick = new Rng(o.seed + 1).shuffle(Array.from({ length: val.length / 2 }, (_, i) => i)).slice(0, o.valWindows);
  const save = async (epoch: number, batch: number, sum: number, cnt: number): Promise<void> => {
    await o.platform.writeFile(ckptPath, writeCheckpoint(model.weights, trainer.opt, { epoch, batch, history, partial: { sum, cnt }, seed: o.seed, command: o.command }));
  };
  for (let e = epoch0; e < o.epochs; e++) {
    const order = Rng.derive(o.seed, e).shuffle(Array.from({ length: nTrain }, (_, i) => i));
    let { sum, cnt } = e === epoch0 ? partial : { sum: 0, cnt: 0 };
    for (let b = e === epoch0 ? batch0 : 0; b < nb; b++) {
      const w = gatherWindows(src, train, order.slice(b * o.batch, (b + 1) * o.batch), F, 5);
      const l = trainer.step(w.visual, w.proprio, w.actions, R);
      sum += l;
      cnt++;
      o.onProgress?.({ phase: `epoch ${e + 1}/${o.epochs}`, done: b + 1, total: nb, loss: sum / cnt });
      if ((b + 1) % o.checkpointEvery === 0 && b + 1 < nb) await save(e, b + 1, sum, cnt);
    }
    let vl = NaN;
    if (valPick.length > 0) {
      vl = 0;
      for (let i = 0; i < valPick.length; i += 256) {
        const w = gatherWindows(src, val, valPick.slice(i, i + 256), F, 5);
        vl += trainer.evalLoss(w.visual, w.proprio, w.actions, R) * Math.min(256, valPick.length - i);
      }
      vl /= valPick.length;
    }
    history.push({ epoch: e + 1, train: cnt ? sum / cnt : NaN, val: vl });
    await save(e + 1, 0, 0, 0);
  }
  const bytes = saveWorldModel(model, {
    made_by: 'quantwm train wm',
    command: o.command,
    dataset: { env: ds.env, episodes: ds.episodes, generator: ds.generator as unknown as Record<string, unknown>, info: ds.info },
    training: { epochs: o.epochs, batch: o.batch, lr: o.lr, seed: o.seed, num_hist: o.numHist, rollout: R, init: o.init ? o.init.config.name : null, history },
  });
  await o.platform.writeFile(o.out, bytes);
  return { bytes, history };
}


/** The trainable tensors of `init` (copies), checked against the config being trained and the encoder given. */
function initFrom(init: WorldModel, cfg: WorldModelConfig, encoder: WeightMap): WeightMap {
  const where = 'train wm --init';
  const c = init.config;
  if (c.predictor.numFrames !== cfg.predictor.numFrames) throw new ValueError(where, `model has num_hist ${c.predictor.numFrames}, training asks for ${cfg.predictor.numFrames}`);
  if (c.proprioDim !== cfg.proprioDim || c.envActionDim !== cfg.envActionDim) throw new ValueError(where, `model dims (proprio ${c.proprioDim}, action ${c.envActionDim}) differ from the data (${cfg.proprioDim}, ${cfg.envActionDim})`);
  const out: WeightMap = new Map();
  for (const [n] of worldModelSpec(cfg)) {
    const t = init.weights.get(n);
    if (!t) throw new ValueError(where, `model has no tensor ${n}`);
    if (n.startsWith('encoder.')) {
      const e = encoder.get(n);
      if (!e || e.f32.length !== t.f32.length || e.f32.some((v, i) => !Object.is(v, t.f32[i]))) throw new ValueError(where, `tensor ${n} differs from the --encoder file: the model was trained on another encoder`);
      continue;
    }
    out.set(n, t.clone());
  }
  return out;
}
