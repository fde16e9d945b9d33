import { readQwm, writeQwm, type PlainData, type QwmReadOptions } from '../io/qwm.js';
import { FormatError } from '../io/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { validateConfig, type EncoderConfig, type WorldModelConfig } from './config.js';
import type { WeightMap } from './weights.js';
import { WorldModel, type NormStats } from './world-model.js';

/**
 * Our models in .qwm files. The container (src/io/qwm.ts) holds tensors under canonical names;
 * `config.quantwm` says what the file is:
 *   { kind: 'world-model', model: WorldModelConfig, stats: {proprioMean, ...} }
 *   { kind: 'encoder', encoder: EncoderConfig }
 * Quantized models add `config.quantization` (src/quant owns that part).
 */
export interface ModelFileHeader {
  kind: 'world-model' | 'encoder';
  model?: WorldModelConfig;
  encoder?: EncoderConfig;
  stats?: Record<keyof NormStats, number[]>;
}

function statsToPlain(s: NormStats): Record<keyof NormStats, number[]> {
  return { proprioMean: [...s.proprioMean], proprioStd: [...s.proprioStd], actionMean: [...s.actionMean], actionStd: [...s.actionStd] };
}

function statsFromPlain(p: Record<string, unknown>, file: string): NormStats {
  const arr = (k: keyof NormStats): Float32Array => {
    const v = p[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new FormatError('E_CONFIG', { file, field: `config.quantwm.stats.${k}` }, 'must be an array of finite numbers');
    }
    return Float32Array.from(v as number[]);
  };
  return { proprioMean: arr('proprioMean'), proprioStd: arr('proprioStd'), actionMean: arr('actionMean'), actionStd: arr('actionStd') };
}

/** Serialize a world model (float weights) with its config, statistics and provenance. */
export function saveWorldModel(m: WorldModel, meta: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Uint8Array {
  const header: ModelFileHeader = { kind: 'world-model', model: m.config, stats: statsToPlain(m.stats) };
  return writeQwm({ config: { quantwm: header as unknown as PlainData, ...extra }, tensors: m.weights as ReadonlyMap<string, Tensor>, meta });
}

export function saveEncoder(c: EncoderConfig, w: WeightMap, meta: Record<string, unknown> = {}): Uint8Array {
  const header: ModelFileHeader = { kind: 'encoder', encoder: c };
  return writeQwm({ config: { quantwm: header as unknown as PlainData }, tensors: w as ReadonlyMap<string, Tensor>, meta });
}

/** Read the header and tensors of one of our .qwm files. */
export function readModelFile(bytes: Uint8Array, opts: QwmReadOptions = {}): { header: ModelFileHeader; tensors: Map<string, Tensor>; config: Record<string, PlainData>; meta: Record<string, PlainData> } {
  const file = opts.file ?? '<model>';
  const q = readQwm(bytes, opts);
  const h = q.config.quantwm as unknown as ModelFileHeader | undefined;
  if (!h || typeof h !== 'object' || (h.kind !== 'world-model' && h.kind !== 'encoder')) {
    throw new FormatError('E_CONFIG', { file, field: 'config.quantwm' }, 'not a quantwm model file (no config.quantwm.kind); convert checkpoints with `quantwm convert`');
  }
  return { header: h, tensors: q.tensors, config: q.config, meta: q.meta };
}

/** A float world model from a .qwm file; shapes are checked against its config parameter by parameter. */
export function loadWorldModel(bytes: Uint8Array, opts: QwmReadOptions = {}): { model: WorldModel; meta: Record<string, PlainData>; config: Record<string, PlainData> } {
  const { header, tensors, meta, config } = readModelFile(bytes, opts);
  return { model: worldModelFromParts(header, tensors, opts.file ?? '<model>'), meta, config };
}

/** Build the model a header describes from float tensors under canonical names. */
export function worldModelFromParts(header: ModelFileHeader, tensors: ReadonlyMap<string, Tensor>, file: string): WorldModel {
  if (header.kind !== 'world-model' || !header.model || !header.stats) {
    throw new FormatError('E_CONFIG', { file, field: 'config.quantwm' }, `expected a world model, found kind '${header.kind}'`);
  }
  validateConfig(header.model);
  const w: WeightMap = new Map();
  for (const [n, t] of tensors) if (t.dtype === 'f32') w.set(n, t as Tensor<'f32'>);
  return new WorldModel(header.model, w, statsFromPlain(header.stats as unknown as Record<string, unknown>, file));
}
