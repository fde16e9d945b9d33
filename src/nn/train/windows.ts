import { ShapeError } from '../../tensor/errors.js';
import { Tensor } from '../../tensor/tensor.js';

/** Row offsets of episodes in a concatenated (sum (L_k + 1), ...) state array and (sum L_k, ...) action array. */
export function episodeRows(lengths: Int32Array): { stateRow: Int32Array; actionRow: Int32Array } {
  const n = lengths.length;
  const stateRow = new Int32Array(n + 1);
  const actionRow = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) {
    stateRow[k + 1] = stateRow[k] + lengths[k] + 1;
    actionRow[k + 1] = actionRow[k] + lengths[k];
  }
  return { stateRow, actionRow };
}

/** Trajectories in the flat layout the trainer reads; features are encoder outputs per state. */
export interface WindowSource {
  lengths: Int32Array;
  /** (states, P, Dv) cached frozen-encoder features */
  features: Float32Array;
  /** (states, proprioDim) normalised */
  proprio: Float32Array;
  /** (actions, envActionDim) normalised */
  actions: Float32Array;
  P: number;
  Dv: number;
  proprioDim: number;
  envActionDim: number;
}

/**
 * Gather a batch of windows: visual (B, F, P, Dv), proprio (B, F, pd), actions (B, F, fs·ad).
 * Frame f of a window starting at step t is state t + f·fs; its action is env actions
 * [t + f·fs, t + (f+1)·fs) concatenated (DINO-WM's TrajSlicerDataset; env/dataset/load.ts windowIndex).
 * @param windows (W, 2) pairs (episode, start), as windowIndex returns; `pick` indexes its rows
 */
export function gatherWindows(src: WindowSource, windows: Int32Array, pick: ArrayLike<number>, frames: number, frameskip: number): { visual: Tensor<'f32'>; proprio: Tensor<'f32'>; actions: Tensor<'f32'> } {
  const { stateRow, actionRow } = episodeRows(src.lengths);
  const B = pick.length;
  const V = src.P * src.Dv;
  const pd = src.proprioDim;
  const ad = src.envActionDim;
  const A = frameskip * ad;
  if (src.features.length !== stateRow[stateRow.length - 1] * V) throw new ShapeError('gatherWindows', `features has ${src.features.length} floats for ${stateRow[stateRow.length - 1]} states x ${V}`);
  const visual = new Float32Array(B * frames * V);
  const proprio = new Float32Array(B * frames * pd);
  const actions = new Float32Array(B * frames * A);
  for (let b = 0; b < B; b++) {
    const w = pick[b];
    const k = windows[2 * w];
    const t = windows[2 * w + 1];
    for (let f = 0; f < frames; f++) {
      const s = stateRow[k] + t + f * frameskip;
      visual.set(src.features.subarray(s * V, (s + 1) * V), (b * frames + f) * V);
      proprio.set(src.proprio.subarray(s * pd, (s + 1) * pd), (b * frames + f) * pd);
      const a = actionRow[k] + t + f * frameskip;
      actions.set(src.actions.subarray(a * ad, (a + frameskip) * ad), (b * frames + f) * A);
    }
  }
  return {
    visual: new Tensor('f32', [B, frames, src.P, src.Dv], visual),
    proprio: new Tensor('f32', [B, frames, pd], proprio),
    actions: new Tensor('f32', [B, frames, A], actions),
  };
}
