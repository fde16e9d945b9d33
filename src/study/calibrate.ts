import type { Dataset } from '../env/dataset/dataset.js';
import { normalize, splitEpisodes } from '../env/dataset/load.js';
import type { WorldModel } from '../nn/world-model.js';
import { runMpcEpisode } from '../plan/mpc.js';
import { CemPlanner } from '../plan/planners.js';
import type { EvalTask } from '../plan/evaluator.js';
import { CalibrationRecorder } from '../quant/model.js';
import type { CalibrationInputs } from '../quant/seam.js';
import { Rng } from '../tensor/rng.js';
import { renderStates } from '../train/frames.js';
import type { TaskSettings } from './task.js';

export interface CalibOptions {
  /** calibration episodes (QuantWM: 50; seeds 99n + 2) */
  episodes: number;
  /** MPC iterations planned with observers on (QuantWM README: quant_iter = 2) */
  quantIter: number;
  /** rows kept per Linear (reservoir) */
  rows: number;
}

/**
 * QuantWM's online calibration (reference/quantwm-dinowm-spec.md A.4): the float model plans the
 * calibration episodes (seeds seed·n + 2) for `quantIter` MPC iterations while every Linear input
 * is recorded; every world-model forward of CEM counts.
 */
export function calibrateByPlanning(model: WorldModel, task: EvalTask, s: TaskSettings, o: CalibOptions, onEpisode?: (n: number) => void): CalibrationInputs {
  const rec = new CalibrationRecorder(model, o.rows, s.eval.seed);
  const planner = new CemPlanner(model, s.cem, s.objective);
  rec.attach();
  try {
    for (let n = 0; n < o.episodes; n++) {
      const seed = s.eval.seed * n + 2;
      const { start, goal } = task.sampleEpisode(seed);
      runMpcEpisode(task.env, model, planner, task.norm, start, goal, { maxIter: o.quantIter }, (iter) => Rng.derive(seed, iter));
      onEpisode?.(n + 1);
    }
  } finally {
    rec.detach();
  }
  return rec.inputs();
}

/**
 * Offline calibration from dataset frames: encode frames of training episodes and roll the
 * predictor along their recorded actions (windows of numFrames + 1 frames).
 */
export function calibrateFromDataset(model: WorldModel, ds: Dataset, windows: number, rows: number, seed: number): CalibrationInputs {
  const rec = new CalibrationRecorder(model, rows, seed);
  const rng = new Rng(seed);
  const train = splitEpisodes(ds.episodes).train;
  const fs = model.config.frameskip;
  const H = 5;
  const A = model.actionDim;
  rec.attach();
  try {
    for (let w = 0; w < windows; w++) {
      const k = train[rng.int(train.length)];
      if (ds.lengths[k] < H * fs) continue;
      const t = rng.int(ds.lengths[k] - H * fs + 1);
      const row = ds.stateRow[k] + t;
      const img = renderStates(ds, [row], model.config.imageSize);
      const z0 = model.encode({ image: img.data as Uint8Array, proprio: ds.proprio.slice(row * ds.proprioDim, (row + 1) * ds.proprioDim) });
      const a0 = ds.actionRow[k] + t;
      const acts = normalize(ds.actions.slice(a0 * ds.actionDim, (a0 + H * fs) * ds.actionDim), ds.stats.action);
      model.rollout(z0, acts.subarray(0, H * A), 1, H, 'last');
    }
  } finally {
    rec.detach();
  }
  return rec.inputs();
}
