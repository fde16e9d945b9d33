import type { AdamW } from '../tensor/autograd/optim.js';
import { readQwm, writeQwm, type PlainData } from '../io/qwm.js';
import { FormatError } from '../io/errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { WeightMap } from '../nn/weights.js';

/**
 * A training checkpoint: every weight, AdamW's moments (opt.m.i / opt.v.i in parameter order) and
 * the loop position in `meta`. Written atomically by the caller's platform, so a kill leaves the
 * previous checkpoint intact.
 */
export interface Checkpoint {
  weights: WeightMap;
  opt: { t: number; m: Float32Array[]; v: Float32Array[] };
  meta: Record<string, PlainData>;
}

export function writeCheckpoint(weights: WeightMap, opt: AdamW, meta: Record<string, unknown>): Uint8Array {
  const s = opt.exportState();
  const tensors = new Map<string, Tensor>(weights);
  s.m.forEach((m, i) => tensors.set(`opt.m.${i}`, new Tensor('f32', [m.length], m)));
  s.v.forEach((v, i) => tensors.set(`opt.v.${i}`, new Tensor('f32', [v.length], v)));
  return writeQwm({ config: { checkpoint: { opt_t: s.t, opt_params: s.m.length } }, tensors, meta }, { level: 0 });
}

export function readCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const q = readQwm(bytes, { file, checkConfig: false });
  const c = q.config.checkpoint as { opt_t?: number; opt_params?: number } | undefined;
  if (!c || typeof c.opt_t !== 'number' || typeof c.opt_params !== 'number') throw new FormatError('E_CONFIG', { file, field: 'config.checkpoint' }, 'not a training checkpoint');
  const weights: WeightMap = new Map();
  for (const [n, t] of q.tensors) if (!n.startsWith('opt.')) weights.set(n, t as Tensor<'f32'>);
  const get = (n: string): Float32Array => {
    const t = q.tensors.get(n);
    if (!t || t.dtype !== 'f32') throw new FormatError('E_NAME', { file, field: n }, 'missing optimizer state');
    return t.data as Float32Array;
  };
  const m: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let i = 0; i < c.opt_params; i++) {
    m.push(get(`opt.m.${i}`));
    v.push(get(`opt.v.${i}`));
  }
  return { weights, opt: { t: c.opt_t, m, v }, meta: q.meta };
}
