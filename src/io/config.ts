/**
 * Model configs as recorded in weight files, inferred from canonical tensor shapes, and checked
 * against them. The config is plain data (it travels inside .qwm files); each section is
 * optional because a file may hold only some parts of the world model.
 *
 * What shapes determine (and what they do not) is listed in docs/formats.md, "Inferred config".
 */
import { Tensor } from '../tensor/tensor.js';
import { FormatError, type FormatLoc } from './errors.js';
import { encoderBlockNames, predictorBlockNames, sectionOf } from './names.js';

export interface EncoderConfig {
  dim: number;
  depth: number;
  /** not recoverable from weights; DINOv2 uses head dim 64 (dim/64) at every size */
  heads: number;
  patchSize: number;
  inChans: number;
  mlpDim: number;
  /** positions in pos_embed including CLS (1 + grid^2): 1370 for the published ViT-S/14 */
  posTokens: number;
  hasMaskToken: boolean;
}

export interface PredictorConfig {
  dim: number;
  depth: number;
  /** heads x dimHead = innerDim; only innerDim is recoverable from weights */
  heads: number;
  dimHead: number;
  innerDim: number;
  mlpDim: number;
  /** rows of pos_embedding = numFrames x numPatches */
  numPositions: number;
  numFrames?: number;
  numPatches?: number;
}

export interface LinearEncoderConfig {
  inDim: number;
  embDim: number;
}

export interface DecoderConfig {
  /** VQVAE(channel, n_res_block, n_res_channel, emb_dim, n_embed, in_channel) as in DINO-WM */
  channel: number;
  nResBlock: number;
  nResChannel: number;
  embDim: number;
  nEmbed: number;
  inChannel: number;
  upsampleStride: number;
  decodeStride: number;
}

export interface WeightConfig {
  encoder?: EncoderConfig;
  predictor?: PredictorConfig;
  actionEncoder?: LinearEncoderConfig;
  proprioEncoder?: LinearEncoderConfig;
  decoder?: DecoderConfig;
}

/** Assumptions made while inferring (e.g. heads from a head dim of 64). */
export interface InferResult {
  config: WeightConfig;
  assumed: string[];
}

export interface InferOptions {
  encoderHeads?: number;
  predictorHeads?: number;
  numFrames?: number;
  numPatches?: number;
}

function shapeOf(ts: ReadonlyMap<string, Tensor>, name: string, loc: FormatLoc, rank: number): readonly number[] {
  const t = ts.get(name);
  if (!t) throw new FormatError('E_NAME', { ...loc, field: name }, `missing tensor '${name}'`);
  if (t.ndim !== rank) throw new FormatError('E_SHAPE', { ...loc, field: name }, `expected rank ${rank}, got [${t.shape.join(',')}]`);
  return t.shape;
}

function countBlocks(ts: ReadonlyMap<string, Tensor>, re: RegExp): number {
  let n = 0;
  for (const k of ts.keys()) {
    const m = re.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** Infer the config of every section present among canonical tensors. */
export function inferConfig(ts: ReadonlyMap<string, Tensor>, opts: InferOptions = {}, loc: FormatLoc = {}): InferResult {
  const config: WeightConfig = {};
  const assumed: string[] = [];
  const has = (prefix: string): boolean => [...ts.keys()].some((k) => k.startsWith(prefix));

  if (has('encoder.')) {
    const pw = shapeOf(ts, 'encoder.patch_embed.weight', loc, 4);
    const dim = pw[0];
    let heads = opts.encoderHeads ?? 0;
    if (!heads) {
      heads = dim % 64 === 0 ? dim / 64 : 1;
      assumed.push(`encoder.heads = ${heads} (head dim 64 as in every DINOv2 size; not stored in weights)`);
    }
    config.encoder = {
      dim,
      depth: countBlocks(ts, /^encoder\.blocks\.(\d+)\./),
      heads,
      patchSize: pw[2],
      inChans: pw[1],
      mlpDim: ts.has('encoder.blocks.0.mlp.fc1.weight') ? shapeOf(ts, 'encoder.blocks.0.mlp.fc1.weight', loc, 2)[0] : 4 * dim,
      posTokens: shapeOf(ts, 'encoder.pos_embed', loc, 3)[1],
      hasMaskToken: ts.has('encoder.mask_token'),
    };
  }
  if (has('predictor.')) {
    const pos = shapeOf(ts, 'predictor.pos_embedding', loc, 3);
    const qkv = shapeOf(ts, 'predictor.blocks.0.attn.to_qkv.weight', loc, 2);
    const innerDim = qkv[0] / 3;
    let heads = opts.predictorHeads ?? 0;
    if (!heads) {
      heads = innerDim % 64 === 0 ? innerDim / 64 : 1;
      assumed.push(`predictor.heads = ${heads} (dim_head 64 as in DINO-WM's conf/predictor/vit.yaml; not stored in weights)`);
    }
    const p: PredictorConfig = {
      dim: pos[2],
      depth: countBlocks(ts, /^predictor\.blocks\.(\d+)\./),
      heads,
      dimHead: innerDim / heads,
      innerDim,
      mlpDim: shapeOf(ts, 'predictor.blocks.0.mlp.fc1.weight', loc, 2)[0],
      numPositions: pos[1],
    };
    if (opts.numPatches !== undefined) {
      p.numPatches = opts.numPatches;
      p.numFrames = opts.numFrames ?? pos[1] / opts.numPatches;
    } else if (opts.numFrames !== undefined) {
      p.numFrames = opts.numFrames;
      p.numPatches = pos[1] / opts.numFrames;
    } else {
      // Guess the patch count: the encoder's stored grid, else DINO-WM's 14 x 14 (196 px input).
      const grid = config.encoder ? config.encoder.posTokens - 1 : 0;
      const guess = [grid, 196].find((g) => g > 0 && pos[1] % g === 0);
      if (guess) {
        p.numPatches = guess;
        p.numFrames = pos[1] / guess;
        assumed.push(
          `predictor.numPatches = ${guess}, numFrames = ${p.numFrames} (${guess === grid ? "the encoder's stored grid" : "DINO-WM's 14x14 patches at 196 px"} divides the ${pos[1]} positions; pass numPatches/numFrames to override)`,
        );
      }
    }
    config.predictor = p;
  }
  for (const [key, prefix] of [
    ['actionEncoder', 'action_encoder'],
    ['proprioEncoder', 'proprio_encoder'],
  ] as const) {
    if (has(`${prefix}.`)) {
      const w = shapeOf(ts, `${prefix}.weight`, loc, 2);
      config[key] = { inDim: w[1], embDim: w[0] };
    }
  }
  if (has('decoder.')) {
    const first = shapeOf(ts, 'decoder.upsample_b.blocks.0.weight', loc, 4);
    const channel = first[0];
    const nResBlock = Math.max(0, countBlocks(ts, /^decoder\.upsample_b\.blocks\.(\d+)\.conv\./) - 1);
    const nRes = nResBlock > 0 ? shapeOf(ts, 'decoder.upsample_b.blocks.1.conv.1.weight', loc, 4)[0] : 0;
    const convT = (p: string): number => {
      let k = 0;
      while (ts.has(`decoder.${p}.blocks.${nResBlock + 2 + 2 * k}.weight`)) k++;
      return k;
    };
    const upT = convT('upsample_b');
    const decT = convT('dec');
    const lastDec = `decoder.dec.blocks.${nResBlock + 2 * decT}.bias`;
    config.decoder = {
      channel,
      nResBlock,
      nResChannel: nRes,
      embDim: first[1],
      nEmbed: shapeOf(ts, 'decoder.quantize_b.cluster_size', loc, 1)[0],
      inChannel: shapeOf(ts, lastDec, loc, 1)[0],
      upsampleStride: 2 ** upT,
      decodeStride: 2 ** decT,
    };
  }
  return { config, assumed };
}

/** Every canonical tensor a config implies, with its shape (optional ones flagged). */
export function expectedTensors(config: WeightConfig): Map<string, { shape: number[]; optional?: boolean }> {
  const out = new Map<string, { shape: number[]; optional?: boolean }>();
  const e = config.encoder;
  if (e) {
    const D = e.dim;
    out.set('encoder.patch_embed.weight', { shape: [D, e.inChans, e.patchSize, e.patchSize] });
    out.set('encoder.patch_embed.bias', { shape: [D] });
    out.set('encoder.cls_token', { shape: [1, 1, D] });
    out.set('encoder.pos_embed', { shape: [1, e.posTokens, D] });
    out.set('encoder.mask_token', { shape: [1, D], optional: !e.hasMaskToken });
    for (let i = 0; i < e.depth; i++) {
      const shapes = [[D], [D], [3 * D, D], [3 * D], [D, D], [D], [D], [D], [D], [e.mlpDim, D], [e.mlpDim], [D, e.mlpDim], [D], [D]];
      encoderBlockNames(i).forEach((n, k) => out.set(n, { shape: shapes[k] }));
    }
    out.set('encoder.norm.weight', { shape: [D] });
    out.set('encoder.norm.bias', { shape: [D] });
  }
  const p = config.predictor;
  if (p) {
    const D = p.dim;
    const I = p.innerDim;
    const M = p.mlpDim;
    out.set('predictor.pos_embedding', { shape: [1, p.numPositions, D] });
    for (let i = 0; i < p.depth; i++) {
      const shapes = [[D], [D], [3 * I, D], [D, I], [D], [D], [D], [M, D], [M], [D, M], [D]];
      predictorBlockNames(i).forEach((n, k) => out.set(n, { shape: shapes[k] }));
    }
    out.set('predictor.norm.weight', { shape: [D] });
    out.set('predictor.norm.bias', { shape: [D] });
  }
  for (const [key, prefix] of [
    ['actionEncoder', 'action_encoder'],
    ['proprioEncoder', 'proprio_encoder'],
  ] as const) {
    const c = config[key];
    if (c) {
      out.set(`${prefix}.weight`, { shape: [c.embDim, c.inDim] });
      out.set(`${prefix}.bias`, { shape: [c.embDim] });
    }
  }
  const d = config.decoder;
  if (d) {
    out.set('decoder.quantize_b.embed', { shape: [d.embDim, d.nEmbed] });
    out.set('decoder.quantize_b.cluster_size', { shape: [d.nEmbed] });
    out.set('decoder.quantize_b.embed_avg', { shape: [d.embDim, d.nEmbed] });
    const part = (p: string, inC: number, outC: number, stride: number): void => {
      const b = `decoder.${p}.blocks`;
      const C = d.channel;
      out.set(`${b}.0.weight`, { shape: [C, inC, 3, 3] });
      out.set(`${b}.0.bias`, { shape: [C] });
      for (let r = 1; r <= d.nResBlock; r++) {
        out.set(`${b}.${r}.conv.1.weight`, { shape: [d.nResChannel, C, 3, 3] });
        out.set(`${b}.${r}.conv.1.bias`, { shape: [d.nResChannel] });
        out.set(`${b}.${r}.conv.3.weight`, { shape: [C, d.nResChannel, 1, 1] });
        out.set(`${b}.${r}.conv.3.bias`, { shape: [C] });
      }
      const steps = Math.round(Math.log2(stride));
      let ch = C;
      for (let k = 0; k < steps; k++) {
        const next = k === steps - 1 ? outC : ch / 2;
        const idx = d.nResBlock + 2 + 2 * k;
        out.set(`${b}.${idx}.weight`, { shape: [ch, next, 4, 4] });
        out.set(`${b}.${idx}.bias`, { shape: [next] });
        ch = next;
      }
    };
    part('upsample_b', d.embDim, d.embDim, d.upsampleStride);
    part('dec', d.embDim, d.inChannel, d.decodeStride);
  }
  return out;
}

const SECTION_KEY = {
  encoder: 'encoder',
  predictor: 'predictor',
  action_encoder: 'actionEncoder',
  proprio_encoder: 'proprioEncoder',
  decoder: 'decoder',
} as const;

const INT_FIELDS: Record<string, readonly string[]> = {
  encoder: ['dim', 'depth', 'heads', 'patchSize', 'inChans', 'mlpDim', 'posTokens'],
  predictor: ['dim', 'depth', 'heads', 'dimHead', 'innerDim', 'mlpDim', 'numPositions'],
  actionEncoder: ['inDim', 'embDim'],
  proprioEncoder: ['inDim', 'embDim'],
  decoder: ['channel', 'nResBlock', 'nResChannel', 'embDim', 'nEmbed', 'inChannel', 'upsampleStride', 'decodeStride'],
};

function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/**
 * Check a config against canonical tensors: every tensor the config implies must be present
 * with exactly that shape, no tensor of a configured section may be extra, and the sections
 * must agree with each other (heads x dimHead = innerDim, predictor dim = encoder dim
 * [+ proprio + action embeddings]). Sections absent from the config are not checked.
 * Throws FormatError E_CONFIG (or E_NAME for missing/unexpected names).
 */
export function checkConfig(config: WeightConfig, ts: ReadonlyMap<string, Tensor>, loc: FormatLoc = {}): void {
  const bad = (field: string, msg: string): never => {
    throw new FormatError('E_CONFIG', { ...loc, field }, msg);
  };
  const sections = config as Record<string, Record<string, unknown> | undefined>;
  for (const [section, fields] of Object.entries(INT_FIELDS)) {
    const c = sections[section];
    if (!c) continue;
    for (const f of fields) {
      const v = c[f];
      const zeroOk = f === 'nResBlock' || f === 'nResChannel';
      if (!(isPosInt(v) || (zeroOk && v === 0))) bad(`${section}.${f}`, `must be a ${zeroOk ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`);
    }
  }
  const pc = sections.predictor;
  for (const f of ['numFrames', 'numPatches']) {
    if (pc && pc[f] !== undefined && !isPosInt(pc[f])) bad(`predictor.${f}`, `must be a positive integer, got ${JSON.stringify(pc[f])}`);
  }
  if (config.encoder && typeof config.encoder.hasMaskToken !== 'boolean') bad('encoder.hasMaskToken', 'must be a boolean');
  const dc = config.decoder;
  if (dc) {
    for (const f of ['upsampleStride', 'decodeStride'] as const) {
      if (![2, 4, 8].includes(dc[f])) bad(`decoder.${f}`, `must be 2, 4 or 8, got ${dc[f]}`);
    }
  }
  // Repetition counts are bounded by the tensors present (each block needs >= 1 tensor), so a
  // forged depth cannot make the expected-name table below large.
  const blocks = (config.encoder?.depth ?? 0) + (config.predictor?.depth ?? 0) + (config.decoder?.nResBlock ?? 0);
  if (blocks > ts.size) bad('depth', `config declares ${blocks} blocks for ${ts.size} tensors`);
  const e = config.encoder;
  if (e && e.dim % e.heads !== 0) bad('encoder.heads', `dim ${e.dim} is not divisible by heads ${e.heads}`);
  const p = config.predictor;
  if (p) {
    if (p.heads * p.dimHead !== p.innerDim) bad('predictor.heads', `heads ${p.heads} x dimHead ${p.dimHead} != innerDim ${p.innerDim}`);
    if (p.numFrames !== undefined && p.numPatches !== undefined && p.numFrames * p.numPatches !== p.numPositions) {
      bad('predictor.numFrames', `numFrames ${p.numFrames} x numPatches ${p.numPatches} != numPositions ${p.numPositions}`);
    }
    if (e) {
      const a = config.actionEncoder?.embDim ?? 0;
      const pr = config.proprioEncoder?.embDim ?? 0;
      if (p.dim !== e.dim && p.dim !== e.dim + a + pr) {
        bad('predictor.dim', `predictor dim ${p.dim} is neither encoder dim ${e.dim} nor ${e.dim} + proprio ${pr} + action ${a}`);
      }
    }
  }
  const want = expectedTensors(config);
  for (const [name, { shape, optional }] of want) {
    const t = ts.get(name);
    if (!t) {
      if (optional) continue;
      throw new FormatError('E_NAME', { ...loc, field: name }, `config implies tensor '${name}' [${shape.join(',')}], which is missing`);
    }
    if (t.ndim !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      bad(name, `config implies shape [${shape.join(',')}], tensor has [${t.shape.join(',')}]`);
    }
  }
  for (const name of ts.keys()) {
    const s = sectionOf(name);
    if (s && config[SECTION_KEY[s]] && !want.has(name)) {
      throw new FormatError('E_NAME', { ...loc, field: name }, `tensor '${name}' is not part of the configured ${s}`);
    }
  }
}

/** Narrow untyped config data (e.g. from a file) to the sections this module knows, or throw E_CONFIG. */
export function asWeightConfig(data: unknown, loc: FormatLoc = {}): WeightConfig {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new FormatError('E_CONFIG', loc, 'config must be a map');
  }
  const c = data as Record<string, unknown>;
  const out: WeightConfig = {};
  for (const k of ['encoder', 'predictor', 'actionEncoder', 'proprioEncoder', 'decoder'] as const) {
    const v = c[k];
    if (v === undefined) continue;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FormatError('E_CONFIG', { ...loc, field: k }, 'section must be a map');
    (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
