import type { Dataset } from '../env/dataset/dataset.js';
import { splitEpisodes } from '../env/dataset/load.js';
import type { PlainData } from '../io/qwm.js';
import type { DecoderConfig } from '../nn/config.js';
import { patchesPerSide } from '../nn/config.js';
import { Decoder, decoderOutputSize, initDecoderWeights } from '../nn/decoder.js';
import { tensorFns } from '../nn/fn.js';
import { saveWorldModel } from '../nn/model-file.js';
import { varFns } from '../nn/var-fns.js';
import type { WeightMap } from '../nn/weights.js';
import { WorldModel } from '../nn/world-model.js';
import type { Platform } from '../platform/types.js';
import * as ag from '../tensor/autograd/index.js';
import { ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import { toFloatImage } from '../tensor/ops/image.js';
import { Rng } from '../tensor/rng.js';
import { Tensor } from '../tensor/tensor.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { renderStates } from './frames.js';

/** DINO-WM trains its decoder with Adam at 3e-4 (reference/quantwm-dinowm-spec.md B.7). */
export const DECODER_LR = 3e-4;

/**
 * Decoder training on detached latents (B.6/B.7): loss = MSE(decoder(z), image in [-1, 1]) with
 * z from the frozen encoder given as constants, so nothing upstream of the decoder moves.
 * Adam = AdamW with weight decay 0 (identical updates).
 */
export class DecoderTrainer {
  readonly params = new ag.ParamSet(true);
  readonly opt: ag.AdamW;
  private readonly F = varFns(this.params);

  constructor(
    readonly decoder: Decoder,
    lr = DECODER_LR,
  ) {
    decoder.tensors().forEach((t, i) => this.params.of(t, `decoder.${i}`));
    this.opt = new ag.AdamW(this.params.vars(), { lr, weightDecay: 0 });
  }

  /**
   * @param latents (B, P, Dv) encoder tokens (constants)
   * @param target (B, 3, S, S) the frames in [-1, 1]
   */
  loss(latents: Tensor<'f32'>, target: Tensor<'f32'>): ag.Var {
    const S = this.decoder.outputSize;
    const B = latents.shape[0];
    if (target.ndim !== 4 || target.shape[0] !== B || target.shape[1] !== 3 || target.shape[2] !== S || target.shape[3] !== S) {
      throw new ShapeError('DecoderTrainer', `target must be (${B}, 3, ${S}, ${S}), got ${fmtShape(target.shape)}`);
    }
    const F = this.F;
    return ag.mseLoss(this.decoder.forwardTokens(F, F.constant(latents)), ag.constant(target));
  }

  /** One Adam step; returns the batch loss. */
  step(latents: Tensor<'f32'>, target: Tensor<'f32'>): number {
    this.opt.zeroGrad();
    const l = this.loss(latents, target);
    ag.backward(l);
    this.opt.step();
    return l.item();
  }

  evalLoss(latents: Tensor<'f32'>, target: Tensor<'f32'>): number {
    return ag.noGrad(() => this.loss(latents, target).item());
  }
}

export interface DecoderRunOptions {
  platform: Platform;
  /** the trained float world model; its frozen encoder makes the latents (any existing decoder is replaced) */
  model: WorldModel;
  /** the world model file's meta, kept in the output (this run is recorded under meta.decoder) */
  meta: Record<string, PlainData>;
  dataset: Dataset;
  decoder: DecoderConfig;
  out: string;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  /** training frames: state rows drawn once from the training episodes (all of them when fewer) */
  frames: number;
  /** validation frames from the held-out episodes, evaluated after every epoch */
  valFrames: number;
  /** optimizer steps between checkpoints */
  checkpointEvery: number;
  command: string;
  onProgress?: (p: { phase: string; done: number; total: number; loss?: number }) => void;
}

export interface DecoderHistory {
  epoch: number;
  /** mean batch MSE of the epoch, [-1, 1] pixel space */
  train: number;
  /** MSE on the validation frames after the epoch (NaN without validation frames) */
  val: number;
}

/** Every state row of the given episodes. */
function rowsOf(ds: Dataset, episodes: readonly number[]): number[] {
  const rows: number[] = [];
  for (const k of [...episodes].sort((a, b) => a - b)) for (let r = ds.stateRow[k]; r < ds.stateRow[k + 1]; r++) rows.push(r);
  return rows;
}

/** Up to n rows drawn without replacement by `rng` (all rows, in order, when there are fewer). */
function pick(rows: number[], n: number, rng: Rng): number[] {
  return rows.length <= n ? rows : rng.shuffle(rows.slice()).slice(0, n);
}

/**
 * Train the visualisation decoder of `model` on frames of `dataset` and write the model with its
 * decoder to `out` (config.decoder set, weights decoder.*). Latents come from the frozen encoder
 * once per run; the batch order of epoch e is Rng.derive(seed, e). Resumes from `${out}.ckpt`
 * (decoder weights, Adam moments, loop position), so a killed and resumed run ends where an
 * uninterrupted one ends, bit for bit.
 */
export async function trainDecoder(o: DecoderRunOptions): Promise<{ bytes: Uint8Array; model: WorldModel; history: DecoderHistory[] }> {
  const m = o.model;
  const ds = o.dataset;
  for (const [k, v] of [['epochs', o.epochs], ['batch', o.batch], ['frames', o.frames], ['checkpointEvery', o.checkpointEvery]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ValueError('train decoder', `${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(o.valFrames) || o.valFrames < 0) throw new ValueError('train decoder', `valFrames must be a non-negative integer, got ${o.valFrames}`);
  if (!(o.lr > 0)) throw new ValueError('train decoder', `lr must be > 0, got ${o.lr}`);
  if (ds.proprioDim !== m.config.proprioDim || ds.actionDim !== m.config.envActionDim) {
    throw new ShapeError('train decoder', `dataset (${ds.env}: proprio ${ds.proprioDim}, action ${ds.actionDim}) does not fit model ${m.config.name} (proprio ${m.config.proprioDim}, action ${m.config.envActionDim})`);
  }
  const g = patchesPerSide(m.config.encoder);
  const S = decoderOutputSize(o.decoder, g);
  const ckptPath = `${o.out}.ckpt`;
  const cfg = { ...m.config, decoder: { ...o.decoder } };

  let decW: WeightMap = initDecoderWeights(o.decoder, m.Dv, new Rng(o.seed));
  let epoch0 = 0;
  let batch0 = 0;
  let history: DecoderHistory[] = [];
  let partial = { sum: 0, cnt: 0 };
  let resumed: ReturnType<typeof readCheckpoint> | null = null;
  if (await o.platform.exists(ckptPath)) {
    resumed = readCheckpoint(await o.platform.readFile(ckptPath), ckptPath);
    const rc = resumed.meta.decoder as unknown as DecoderConfig;
    if (!rc || rc.channels !== o.decoder.channels || rc.stages !== o.decoder.stages || resumed.meta.seed !== o.seed) {
      throw new ValueError('train decoder', `${ckptPath} was made with decoder ${JSON.stringify(rc)} seed ${String(resumed.meta.seed)}, this run asks for ${JSON.stringify(o.decoder)} seed ${o.seed}: delete it to start afresh`);
    }
    decW = resumed.weights;
    epoch0 = resumed.meta.epoch as number;
    batch0 = resumed.meta.batch as number;
    history = resumed.meta.history as unknown as DecoderHistory[];
    partial = resumed.meta.partial as typeof partial;
  }
  const weights: WeightMap = new Map([...m.weights].filter(([n]) => !n.startsWith('decoder.')));
  for (const [n, t] of decW) weights.set(n, t);
  const model = new WorldModel(cfg, weights, m.stats);
  const decoder = model.decoder!;
  const trainer = new DecoderTrainer(decoder, o.lr);
  if (resumed) trainer.opt.importState(resumed.opt);

  // frames: training episodes for the pool, held-out episodes for validation (the WM's 90/10 split)
  const split = splitEpisodes(ds.episodes);
  const trainRows = pick(rowsOf(ds, split.train), o.frames, new Rng(o.seed + 1));
  const valRows = pick(rowsOf(ds, split.val), o.valFrames, new Rng(o.seed + 2));
  if (trainRows.length === 0) throw new ValueError('train decoder', `no training frames in the ${ds.env} dataset (${ds.episodes} episodes)`);
  const V = model.visualSize;
  const encode = (rows: number[], phase: string): Float32Array => {
    const out = new Float32Array(rows.length * V);
    for (let s = 0; s < rows.length; s += 256) {
      const imgs = renderStates(ds, rows.slice(s, s + 256), model.config.imageSize);
      out.set(model.encoder.forward(tensorFns, model.preprocess(imgs)).f32, s * V);
      o.onProgress?.({ phase, done: Math.min(rows.length, s + 256), total: rows.length });
    }
    return out;
  };
  const trainZ = encode(trainRows, 'encode train frames');
  const valZ = encode(valRows, 'encode val frames');
  /** latents (n, P, Dv) and targets (n, 3, S, S) of pool entries idx */
  const batchOf = (rows: number[], z: Float32Array, idx: readonly number[]): [Tensor<'f32'>, Tensor<'f32'>] => {
    const lat = new Float32Array(idx.length * V);
    idx.forEach((k, i) => lat.set(z.subarray(k * V, (k + 1) * V), i * V));
    const target = toFloatImage(renderStates(ds, idx.map((k) => rows[k]), S));
    return [new Tensor('f32', [idx.length, model.P, model.Dv], lat), target];
  };

  const nTrain = trainRows.length;
  const B = Math.min(o.batch, nTrain);
  const nb = Math.floor(nTrain / B);
  const save = async (epoch: number, batch: number, sum: number, cnt: number): Promise<void> => {
    const dw: WeightMap = new Map([...model.weights].filter(([n]) => n.startsWith('decoder.')));
    await o.platform.writeFile(ckptPath, writeCheckpoint(dw, trainer.opt, { epoch, batch, history, partial: { sum, cnt }, seed: o.seed, decoder: { ...o.decoder }, command: o.command }));
  };
  for (let e = epoch0; e < o.epochs; e++) {
    const order = Rng.derive(o.seed, e).shuffle(Array.from({ length: nTrain }, (_, i) => i));
    let { sum, cnt } = e === epoch0 ? partial : { sum: 0, cnt: 0 };
    for (let b = e === epoch0 ? batch0 : 0; b < nb; b++) {
      const [lat, target] = batchOf(trainRows, trainZ, order.slice(b * B, (b + 1) * B));
      sum += trainer.step(lat, target);
      cnt++;
      o.onProgress?.({ phase: `epoch ${e + 1}/${o.epochs}`, done: b + 1, total: nb, loss: sum / cnt });
      if ((b + 1) % o.checkpointEvery === 0 && b + 1 < nb) await save(e, b + 1, sum, cnt);
    }
    let vl = NaN;
    if (valRows.length > 0) {
      vl = 0;
      for (let i = 0; i < valRows.length; i += 64) {
        const idx = Array.from({ length: Math.min(64, valRows.length - i) }, (_, k) => i + k);
        vl += trainer.evalLoss(...batchOf(valRows, valZ, idx)) * idx.length;
      }
      vl /= valRows.length;
    }
    history.push({ epoch: e + 1, train: cnt ? sum / cnt : NaN, val: vl });
    await save(e + 1, 0, 0, 0);
  }
  const bytes = saveWorldModel(model, {
    ...o.meta,
    decoder: {
      made_by: 'quantwm train decoder',
      command: o.command,
      objective: 'MSE to the [-1, 1] frame on detached latents of the frozen encoder (DINO-WM B.6/B.7)',
      dataset: { env: ds.env, episodes: ds.episodes, seed: ds.generator.seed },
      training: { epochs: o.epochs, batch: B, lr: o.lr, optimizer: 'Adam', seed: o.seed, frames: nTrain, val_frames: valRows.length, history: history as unknown as PlainData },
    },
  });
  await o.platform.writeFile(o.out, bytes);
  return { bytes, model, history };
}

/**
 * The decoder of `donor` attached to `model`: DINO-WM's decoder reads only the frozen encoder's
 * latents, so a decoder trained for one world model serves every model on the same encoder, and
 * equals what `trainDecoder` would train again (same encoder, data, seed). Refused unless the two
 * encoders are identical bit for bit and the decoder was trained on frames of the model's env. The donor's training record is kept under meta.decoder.
 */
export function attachDecoder(model: WorldModel, meta: Record<string, PlainData>, donor: WorldModel, donorMeta: Record<string, PlainData>, donorFile: string): Uint8Array {
  const where = 'train decoder --from';
  if (!donor.decoder || !donor.config.decoder) throw new ValueError(where, `${donorFile} has no decoder`);
  for (const [n, t] of model.weights) {
    if (!n.startsWith('encoder.')) continue;
    const d = donor.weights.get(n);
    if (!d || d.f32.length !== t.f32.length || d.f32.some((v, i) => !Object.is(v, t.f32[i]))) throw new ValueError(where, `encoder tensor ${n} of ${donorFile} differs: its decoder was trained on another encoder`);
  }
  const rec = (donorMeta.decoder ?? {}) as Record<string, PlainData>;
  const decodedEnv = (rec.dataset as { env?: string } | undefined)?.env;
  const modelEnv = (meta.dataset as { env?: string } | undefined)?.env;
  if (decodedEnv !== undefined && modelEnv !== undefined && decodedEnv !== modelEnv) throw new ValueError(where, `the decoder of ${donorFile} was trained on ${decodedEnv} frames, the model on ${modelEnv}`);
  const weights: WeightMap = new Map([...model.weights].filter(([n]) => !n.startsWith('decoder.')));
  for (const [n, t] of donor.weights) if (n.startsWith('decoder.')) weights.set(n, t);
  const m = new WorldModel({ ...model.config, decoder: { ...donor.config.decoder } }, weights, model.stats);
  return saveWorldModel(m, { ...meta, decoder: { ...rec, copied_from: donorFile } });
}
