import { concatDatasets } from '../env/dataset/dataset.js';
import { readModelFile, worldModelFromParts } from '../nn/model-file.js';
import type { WorldModel } from '../nn/world-model.js';
import { patchesPerSide, type EncoderConfig } from '../nn/config.js';
import type { WeightMap } from '../nn/weights.js';
import { nodePlatform } from '../platform/node.js';
import { ValueError } from '../tensor/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { DECODER_LR, attachDecoder, trainDecoder } from '../train/decoder.js';
import { trainEncoder } from '../train/encoder.js';
import { trainWorldModel } from '../train/wm.js';
import { parseArgs } from './args.js';
import { applyThreads, envName, readDataset, required } from './common.js';
import { Progress } from './progress.js';
import type { Command } from './run.js';

const HELP = `quantwm train: train the compact world models

Usage:
  quantwm train encoder --data DIR[,DIR...] --out FILE [options]
  quantwm train wm --env E --data DIR --encoder FILE --out FILE [options]
  quantwm train decoder --weights WM.qwm --data DIR --out FILE [options]

encoder: self-supervised masked-image pretraining of the compact DINOv2-shaped encoder on frames
of every dataset given, then frozen (written alone to FILE).
  --steps N (1500)  --batch N (128)  --lr X (1e-3)  --mask-ratio X (0.5)  --pool N (24000 frames)
  --image-size N (64)  --patch N (16)  --dim N (64)  --depth N (3)  --heads N (2)

wm: DINO-WM training of predictor + action/proprio encoders on frozen, cached encoder features.
  --data DIR[,DIR...]  one or more datasets of the env (e.g. generated plus \`quantwm data mine\` output)
  --epochs N (4)  --batch N (32)  --lr X (5e-4)  --num-hist N (Wall 1, PointMaze 3, PushT 3)
  --rollout R (1)   loss over R open-loop steps, each fed the model's own prediction (1 = teacher forcing)
  --init FILE       fine-tune this trained model (its weights and normalisation statistics)

decoder: the visualisation decoder (latents -> frames) of a trained float world model, on detached
latents of its frozen encoder (MSE to the [-1, 1] frame, Adam); FILE = the model plus decoder.*.
  --epochs N (2)  --batch N (32)  --lr X (3e-4)  --frames N (8192 training frames)
  --channels N (64)  --stages N (log2(image size / patches per side))
  --from DONOR.qwm  instead of training, copy DONOR's decoder (it reads only encoder latents, so it
                    serves any model on the same encoder; refused unless the encoders are identical)

All: --seed S (0)  --threads N  --checkpoint-every N (steps)
A checkpoint FILE.ckpt is written as training goes; the same command resumes from it and ends
exactly where an uninterrupted run ends. The command line and the losses are recorded in FILE.
`;

export const trainCommand: Command = {
  name: 'train',
  summary: 'train the compact encoder or a world model (resumable)',
  help: HELP,
  async run(argv) {
    const [what, ...rest] = argv;
    if (what !== 'encoder' && what !== 'wm' && what !== 'decoder') throw new ValueError('train', `expected 'encoder', 'wm' or 'decoder', got '${what ?? ''}'`);
    const { opts } = parseArgs(`train ${what}`, rest, {
      options: { env: 'string', data: 'string', encoder: 'string', out: 'string', steps: 'number', epochs: 'number', batch: 'number', lr: 'number', 'mask-ratio': 'number', pool: 'number', 'image-size': 'number', patch: 'number', dim: 'number', depth: 'number', heads: 'number', 'num-hist': 'number', seed: 'number', threads: 'number', 'checkpoint-every': 'number', weights: 'string', init: 'string', rollout: 'number', from: 'string', frames: 'number', channels: 'number', stages: 'number' },
      positionals: 0,
    });
    applyThreads(opts.threads as number | undefined);
    const out = required(opts.out as string | undefined, '--out');
    const command = `quantwm train ${argv.join(' ')}`;
    const seed = (opts.seed as number | undefined) ?? 0;
    let bar: Progress | null = null;
    let phase = '';
    const onProgress = (p: { phase: string; done: number; total: number; loss?: number }): void => {
      if (p.phase !== phase) {
        bar?.done();
        phase = p.phase;
        bar = new Progress(p.phase, p.total);
      }
      bar!.update(p.done, p.loss === undefined ? '' : `loss ${p.loss.toFixed(5)}`);
    };
    if (what === 'encoder') {
      const dirs = required(opts.data as string | undefined, '--data').split(',');
      const datasets = [];
      for (const d of dirs) datasets.push(await readDataset(d));
      const size = (opts['image-size'] as number | undefined) ?? 64;
      const dim = (opts.dim as number | undefined) ?? 64;
      const patch = (opts.patch as number | undefined) ?? 16;
      const config: EncoderConfig = { inputSize: size, patchSize: patch, dim, depth: (opts.depth as number | undefined) ?? 3, heads: (opts.heads as number | undefined) ?? 2, mlpDim: 4 * dim, lnEps: 1e-6, posGrid: size / patch, posOffset: 0.1 };
      const r = await trainEncoder({ platform: nodePlatform, datasets, config, out, steps: (opts.steps as number | undefined) ?? 1500, batch: (opts.batch as number | undefined) ?? 128, lr: (opts.lr as number | undefined) ?? 1e-3, maskRatio: (opts['mask-ratio'] as number | undefined) ?? 0.5, seed, poolSize: (opts.pool as number | undefined) ?? 24000, checkpointEvery: (opts['checkpoint-every'] as number | undefined) ?? 100, command, onProgress });
      (bar as Progress | null)?.done();
      for (const h of r.history) process.stdout.write(`step ${h.step}: train ${h.train.toFixed(5)} val ${h.val.toFixed(5)}\n`);
      return 0;
    }
    if (what === 'decoder') {
      const file = required(opts.weights as string | undefined, '--weights');
      const f = readModelFile(await nodePlatform.readFile(file), { file });
      const model = loadFloatModel(f, file, '--weights');
      const meta = f.meta;
      const from = opts.from as string | undefined;
      if (from !== undefined) {
        const d = readModelFile(await nodePlatform.readFile(from), { file: from });
        const bytes = attachDecoder(model, meta, loadFloatModel(d, from, '--from'), d.meta, from);
        await nodePlatform.writeFile(out, bytes);
        process.stdout.write(`${out}: ${file} with the decoder of ${from} (same encoder, bit for bit)\n`);
        return 0;
      }
      const ds = await readDataset(required(opts.data as string | undefined, '--data'));
      const trainedOn = (meta.dataset as { env?: string } | undefined)?.env;
      if (trainedOn !== undefined && trainedOn !== ds.env) throw new ValueError('--data', `dataset is ${ds.env}, ${file} was trained on ${trainedOn}`);
      const g = patchesPerSide(model.config.encoder);
      const stages = (opts.stages as number | undefined) ?? Math.log2(model.config.imageSize / g);
      if (!Number.isInteger(stages)) throw new ValueError('--stages', `image size ${model.config.imageSize} is not ${g} patches x a power of two: pass --stages (output side = ${g} x 2^stages)`);
      const decoder = { channels: (opts.channels as number | undefined) ?? 64, stages };
      const r = await trainDecoder({ platform: nodePlatform, model, meta, dataset: ds, decoder, out, epochs: (opts.epochs as number | undefined) ?? 2, batch: (opts.batch as number | undefined) ?? 32, lr: (opts.lr as number | undefined) ?? DECODER_LR, seed, frames: (opts.frames as number | undefined) ?? 8192, valFrames: 512, checkpointEvery: (opts['checkpoint-every'] as number | undefined) ?? 100, command, onProgress });
      (bar as Progress | null)?.done();
      // PSNR of the [-1, 1] range (peak-to-peak 2) = the 0..255 PSNR
      for (const h of r.history) process.stdout.write(`epoch ${h.epoch}: train ${h.train.toFixed(5)} val ${h.val.toFixed(5)} (PSNR ${(10 * Math.log10(4 / h.val)).toFixed(1)} dB)\n`);
      return 0;
    }
    const env = envName(opts.env);
    const parts = [];
    for (const d of required(opts.data as string | undefined, '--data').split(',')) parts.push(await readDataset(d));
    const ds = concatDatasets(parts);
    if (ds.env !== env) throw new ValueError('--data', `dataset is ${ds.env}, --env is ${env}`);
    const initFile = opts.init as string | undefined;
    const init = initFile ? loadFloatModel(await nodePlatform.readFile(initFile), initFile) : undefined;
    const encFile = required(opts.encoder as string | undefined, '--encoder');
    const enc = readModelFile(await nodePlatform.readFile(encFile), { file: encFile });
    if (enc.header.kind !== 'encoder' || !enc.header.encoder) throw new ValueError('--encoder', `${encFile} is not an encoder file`);
    const weights: WeightMap = new Map([...enc.tensors].filter(([n]) => n.startsWith('encoder.')) as [string, Tensor<'f32'>][]);
    const r = await trainWorldModel({
      platform: nodePlatform,
      dataset: ds,
      encoder: { config: enc.header.encoder, weights },
      out,
      numHist: (opts['num-hist'] as number | undefined) ?? init?.config.predictor.numFrames ?? (env === 'wall' ? 1 : 3),
      rollout: (opts.rollout as number | undefined) ?? 1,
      init,
      epochs: (opts.epochs as number | undefined) ?? 4,
      batch: (opts.batch as number | undefined) ?? 32,
      lr: (opts.lr as number | undefined) ?? 5e-4,
      seed,
      checkpointEvery: (opts['checkpoint-every'] as number | undefined) ?? 200,
      valWindows: 2048,
      command,
      onProgress,
    });
    (bar as Progress | null)?.done();
    for (const h of r.history) process.stdout.write(`epoch ${h.epoch}: train ${h.train.toFixed(5)} val ${h.val.toFixed(5)}\n`);
    return 0;
  },
};

/** A float world model from a .qwm file (bytes or already parsed); quantized files are refused. */
function loadFloatModel(src: Uint8Array | ReturnType<typeof readModelFile>, file: string, flag = '--init'): WorldModel {
  const f = src instanceof Uint8Array ? readModelFile(src, { file }) : src;
  if (f.config.quantization !== undefined) throw new ValueError(flag, `${file} is quantized; training needs the float model`);
  return worldModelFromParts(f.header, f.tensors, file);
}
