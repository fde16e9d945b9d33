/**
 * Canonical tensor names, and the maps from the names real checkpoints use.
 *
 * Canonical names (the names src/nn loads; shapes for the config in ./config.ts):
 *
 *   encoder (DINOv2 ViT, torch-hub layout with an `encoder.` prefix; D = dim, p = patch, N = grid cells)
 *     encoder.patch_embed.weight (D, C, p, p)   encoder.patch_embed.bias (D)
 *     encoder.cls_token (1, 1, D)               encoder.pos_embed (1, 1+N, D)      encoder.mask_token (1, D) [optional, unused]
 *     encoder.blocks.{i}.norm1.weight|bias (D)
 *     encoder.blocks.{i}.attn.qkv.weight (3D, D)  .attn.qkv.bias (3D)     rows ordered q, k, v
 *     encoder.blocks.{i}.attn.proj.weight (D, D)  .attn.proj.bias (D)
 *     encoder.blocks.{i}.ls1.gamma (D)            encoder.blocks.{i}.norm2.weight|bias (D)
 *     encoder.blocks.{i}.mlp.fc1.weight (M, D)    .mlp.fc1.bias (M)
 *     encoder.blocks.{i}.mlp.fc2.weight (D, M)    .mlp.fc2.bias (D)
 *     encoder.blocks.{i}.ls2.gamma (D)            encoder.norm.weight|bias (D)
 *   predictor (DINO-WM ViTPredictor; Dp = dim, I = heads*dim_head, Mp = mlp dim, L = frames*patches)
 *     predictor.pos_embedding (1, L, Dp)
 *     predictor.blocks.{i}.norm1.weight|bias (Dp)
 *     predictor.blocks.{i}.attn.to_qkv.weight (3I, Dp)   (no bias; rows q, k, v; heads split as (h d))
 *     predictor.blocks.{i}.attn.to_out.weight (Dp, I)    .attn.to_out.bias (Dp)
 *     predictor.blocks.{i}.norm2.weight|bias (Dp)
 *     predictor.blocks.{i}.mlp.fc1.weight (Mp, Dp)   .mlp.fc1.bias (Mp)
 *     predictor.blocks.{i}.mlp.fc2.weight (Dp, Mp)   .mlp.fc2.bias (Dp)
 *     predictor.norm.weight|bias (Dp)
 *   action_encoder.weight (Ea, Ain)  action_encoder.bias (Ea)     (DINO-WM Conv1d k=1, kernel axis dropped)
 *   proprio_encoder.weight (Ep, Pin) proprio_encoder.bias (Ep)
 *   decoder.*  DINO-WM VQVAE names verbatim (decoder.upsample_b.blocks.0.weight, decoder.dec.blocks.8.bias,
 *              decoder.quantize_b.embed, ...)
 *
 * Sources mapped (docs/formats.md has the full tables):
 *   hub   torch-hub DINOv2 state_dict: cls_token, pos_embed, patch_embed.proj.*, blocks.N.*, norm.*
 *   hf    Hugging Face Dinov2Model: embeddings.*, encoder.layer.N.* (query/key/value fused into qkv),
 *         layer_scale{1,2}.lambda1, layernorm.*; a `dinov2.` prefix is stripped, `classifier.*` dropped
 *   dinowm DINO-WM checkpoints: predictor.transformer.layers.i.{0,1}.*, predictor.pos_embedding,
 *         {action,proprio}_encoder.patch_embed.*, encoder.base_model.<hub names>, decoder.*;
 *         a bare ViTPredictor state_dict (pos_embedding, transformer.*) maps to predictor.*
 * Wrapper prefixes `module.` (DDP) and `_orig_mod.` (torch.compile) are stripped first.
 */
import { Tensor } from '../tensor/tensor.js';
import { FormatError, type FormatLoc } from './errors.js';

export type NameScheme = 'canonical' | 'hub' | 'hf' | 'dinowm';

/** Canonical encoder names of block i (in state_dict order). */
export function encoderBlockNames(i: number): string[] {
  const b = `encoder.blocks.${i}`;
  return [
    `${b}.norm1.weight`,
    `${b}.norm1.bias`,
    `${b}.attn.qkv.weight`,
    `${b}.attn.qkv.bias`,
    `${b}.attn.proj.weight`,
    `${b}.attn.proj.bias`,
    `${b}.ls1.gamma`,
    `${b}.norm2.weight`,
    `${b}.norm2.bias`,
    `${b}.mlp.fc1.weight`,
    `${b}.mlp.fc1.bias`,
    `${b}.mlp.fc2.weight`,
    `${b}.mlp.fc2.bias`,
    `${b}.ls2.gamma`,
  ];
}

/** Canonical predictor names of block i. */
export function predictorBlockNames(i: number): string[] {
  const b = `predictor.blocks.${i}`;
  return [
    `${b}.norm1.weight`,
    `${b}.norm1.bias`,
    `${b}.attn.to_qkv.weight`,
    `${b}.attn.to_out.weight`,
    `${b}.attn.to_out.bias`,
    `${b}.norm2.weight`,
    `${b}.norm2.bias`,
    `${b}.mlp.fc1.weight`,
    `${b}.mlp.fc1.bias`,
    `${b}.mlp.fc2.weight`,
    `${b}.mlp.fc2.bias`,
  ];
}

/** The model part a canonical name belongs to, or undefined for a non-canonical name. */
export function sectionOf(name: string): 'encoder' | 'predictor' | 'action_encoder' | 'proprio_encoder' | 'decoder' | undefined {
  const head = name.slice(0, name.indexOf('.'));
  switch (head) {
    case 'encoder':
    case 'predictor':
    case 'action_encoder':
    case 'proprio_encoder':
    case 'decoder':
      return head;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Rules: one source name -> one canonical name (optionally a tensor transform), or a drop.

type Rule =
  | { re: RegExp; scheme: NameScheme; to: (m: RegExpMatchArray) => string; reshape?: 'dropLastUnitAxis' }
  | { re: RegExp; scheme: NameScheme; drop: string };

const HUB_TAIL: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/^cls_token$/, () => 'cls_token'],
  [/^pos_embed$/, () => 'pos_embed'],
  [/^mask_token$/, () => 'mask_token'],
  [/^patch_embed\.proj\.(weight|bias)$/, (m) => `patch_embed.${m[1]}`],
  [
    /^blocks\.(\d+)\.(norm1\.weight|norm1\.bias|attn\.qkv\.weight|attn\.qkv\.bias|attn\.proj\.weight|attn\.proj\.bias|ls1\.gamma|norm2\.weight|norm2\.bias|mlp\.fc1\.weight|mlp\.fc1\.bias|mlp\.fc2\.weight|mlp\.fc2\.bias|ls2\.gamma)$/,
    (m) => `blocks.${m[1]}.${m[2]}`,
  ],
  [/^norm\.(weight|bias)$/, (m) => `norm.${m[1]}`],
];

const PRED_LAYER: Record<string, string> = {
  '0.norm.weight': 'norm1.weight',
  '0.norm.bias': 'norm1.bias',
  '0.to_qkv.weight': 'attn.to_qkv.weight',
  '0.to_out.0.weight': 'attn.to_out.weight',
  '0.to_out.0.bias': 'attn.to_out.bias',
  '1.net.0.weight': 'norm2.weight',
  '1.net.0.bias': 'norm2.bias',
  '1.net.1.weight': 'mlp.fc1.weight',
  '1.net.1.bias': 'mlp.fc1.bias',
  '1.net.4.weight': 'mlp.fc2.weight',
  '1.net.4.bias': 'mlp.fc2.bias',
};

const HF_LAYER: Record<string, string> = {
  'norm1.weight': 'norm1.weight',
  'norm1.bias': 'norm1.bias',
  'attention.output.dense.weight': 'attn.proj.weight',
  'attention.output.dense.bias': 'attn.proj.bias',
  'layer_scale1.lambda1': 'ls1.gamma',
  'norm2.weight': 'norm2.weight',
  'norm2.bias': 'norm2.bias',
  'mlp.fc1.weight': 'mlp.fc1.weight',
  'mlp.fc1.bias': 'mlp.fc1.bias',
  'mlp.fc2.weight': 'mlp.fc2.weight',
  'mlp.fc2.bias': 'mlp.fc2.bias',
  'layer_scale2.lambda1': 'ls2.gamma',
};

function hubRule(prefix: string, scheme: NameScheme): Rule[] {
  const esc = prefix.replace(/\./g, '\\.');
  return HUB_TAIL.map(([re, f]) => ({
    re: new RegExp(`^${esc}${re.source.slice(1)}`),
    scheme,
    to: (m: RegExpMatchArray) => `encoder.${f(m)}`,
  }));
}

function predictorRules(prefix: string): Rule[] {
  const esc = prefix.replace(/\./g, '\\.');
  return [
    { re: new RegExp(`^${esc}pos_embedding$`), scheme: 'dinowm', to: () => 'predictor.pos_embedding' },
    {
      re: new RegExp(`^${esc}transformer\\.layers\\.(\\d+)\\.(${Object.keys(PRED_LAYER).map((k) => k.replace(/\./g, '\\.')).join('|')})$`),
      scheme: 'dinowm',
      to: (m) => `predictor.blocks.${m[1]}.${PRED_LAYER[m[2]]}`,
    },
    { re: new RegExp(`^${esc}transformer\\.norm\\.(weight|bias)$`), scheme: 'dinowm', to: (m) => `predictor.norm.${m[1]}` },
    // the frame-causal mask (a plain attribute in DINO-WM, a buffer in some forks): derived, never loaded
    { re: new RegExp(`^${esc}transformer\\.layers\\.(\\d+)\\.0\\.bias$`), scheme: 'dinowm', drop: 'frame-causal attention mask (derived from num_frames x num_patches)' },
  ];
}

const RULES: Rule[] = [
  // already canonical
  {
    re: /^(encoder\.(?:patch_embed\.(?:weight|bias)|cls_token|pos_embed|mask_token|norm\.(?:weight|bias)|blocks\.\d+\.(?:norm1\.weight|norm1\.bias|attn\.qkv\.weight|attn\.qkv\.bias|attn\.proj\.weight|attn\.proj\.bias|ls1\.gamma|norm2\.weight|norm2\.bias|mlp\.fc1\.weight|mlp\.fc1\.bias|mlp\.fc2\.weight|mlp\.fc2\.bias|ls2\.gamma)))$/,
    scheme: 'canonical',
    to: (m) => m[1],
  },
  {
    re: /^(predictor\.(?:pos_embedding|norm\.(?:weight|bias)|blocks\.\d+\.(?:norm1\.weight|norm1\.bias|attn\.to_qkv\.weight|attn\.to_out\.weight|attn\.to_out\.bias|norm2\.weight|norm2\.bias|mlp\.fc1\.weight|mlp\.fc1\.bias|mlp\.fc2\.weight|mlp\.fc2\.bias)))$/,
    scheme: 'canonical',
    to: (m) => m[1],
  },
  { re: /^((?:action|proprio)_encoder\.(?:weight|bias))$/, scheme: 'canonical', to: (m) => m[1] },
  // DINO-WM
  ...predictorRules('predictor.'),
  ...predictorRules(''),
  { re: /^(action|proprio)_encoder\.patch_embed\.weight$/, scheme: 'dinowm', to: (m) => `${m[1]}_encoder.weight`, reshape: 'dropLastUnitAxis' },
  { re: /^(action|proprio)_encoder\.patch_embed\.bias$/, scheme: 'dinowm', to: (m) => `${m[1]}_encoder.bias` },
  ...hubRule('encoder.base_model.', 'dinowm'),
  { re: /^(decoder\..+)$/, scheme: 'dinowm', to: (m) => m[1] },
  // torch hub DINOv2
  ...hubRule('', 'hub'),
  // Hugging Face Dinov2Model (q/k/v handled separately)
  { re: /^embeddings\.cls_token$/, scheme: 'hf', to: () => 'encoder.cls_token' },
  { re: /^embeddings\.mask_token$/, scheme: 'hf', to: () => 'encoder.mask_token' },
  { re: /^embeddings\.position_embeddings$/, scheme: 'hf', to: () => 'encoder.pos_embed' },
  { re: /^embeddings\.patch_embeddings\.projection\.(weight|bias)$/, scheme: 'hf', to: (m) => `encoder.patch_embed.${m[1]}` },
  {
    re: new RegExp(`^encoder\\.layer\\.(\\d+)\\.(${Object.keys(HF_LAYER).map((k) => k.replace(/\./g, '\\.')).join('|')})$`),
    scheme: 'hf',
    to: (m) => `encoder.blocks.${m[1]}.${HF_LAYER[m[2]]}`,
  },
  { re: /^layernorm\.(weight|bias)$/, scheme: 'hf', to: (m) => `encoder.norm.${m[1]}` },
  { re: /^classifier\./, scheme: 'hf', drop: 'Dinov2ForImageClassification head (not part of the encoder)' },
];

const HF_QKV = /^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$/;

/** Where one source name goes: a canonical name (possibly a q/k/v part of a fused qkv), a drop, or nowhere. */
export type NameTarget =
  | { kind: 'rename'; to: string; scheme: NameScheme; reshape?: 'dropLastUnitAxis' }
  | { kind: 'qkv'; to: string; part: 'query' | 'key' | 'value'; scheme: 'hf' }
  | { kind: 'drop'; reason: string; scheme: NameScheme }
  | { kind: 'unmapped' };

/** Map one source name (no tensor needed; `inspect` uses this to group parameters by section). */
export function canonicalName(rawName: string): NameTarget {
  const name = stripWrappers(rawName);
  const q = HF_QKV.exec(name);
  if (q) return { kind: 'qkv', to: `encoder.blocks.${q[1]}.attn.qkv.${q[3]}`, part: q[2] as 'query' | 'key' | 'value', scheme: 'hf' };
  for (const r of RULES) {
    const m = r.re.exec(name);
    if (!m) continue;
    if ('drop' in r) return { kind: 'drop', reason: r.drop, scheme: r.scheme };
    return { kind: 'rename', to: r.to(m), scheme: r.scheme, reshape: r.reshape };
  }
  return { kind: 'unmapped' };
}

/** What `toCanonical` did. */
export interface NameMapResult {
  /** canonical name -> tensor, in source order (fused qkv at its query's position) */
  tensors: Map<string, Tensor>;
  /** source naming schemes seen */
  schemes: NameScheme[];
  /** source names dropped on purpose, with the reason */
  dropped: Array<{ name: string; reason: string }>;
  /** source names no rule knows (kept out of `tensors`) */
  unmapped: string[];
  /** source name -> canonical name, for every renamed tensor (HF q/k/v list all three) */
  renamed: Array<{ from: string; to: string }>;
}

function stripWrappers(name: string): string {
  let n = name;
  for (;;) {
    if (n.startsWith('module.')) n = n.slice(7);
    else if (n.startsWith('_orig_mod.')) n = n.slice(10);
    else if (n.startsWith('dinov2.')) n = n.slice(7);
    else return n;
  }
}

/**
 * Rename `src` tensors to canonical names. HF query/key/value are fused into one qkv (rows q,
 * k, v). Conv1d action/proprio weights (E, in, 1) become (E, in). Two sources landing on one
 * canonical name, or an incomplete HF q/k/v triple, is a FormatError.
 */
export function toCanonical(src: ReadonlyMap<string, Tensor>, loc: FormatLoc = {}): NameMapResult {
  const tensors = new Map<string, Tensor>();
  const origin = new Map<string, string>();
  const schemes = new Set<NameScheme>();
  const dropped: NameMapResult['dropped'] = [];
  const unmapped: string[] = [];
  const renamed: NameMapResult['renamed'] = [];
  const qkv = new Map<string, Map<string, { name: string; t: Tensor }>>();

  const put = (to: string, t: Tensor, from: string): void => {
    const prev = origin.get(to);
    if (prev !== undefined) {
      throw new FormatError('E_DUPLICATE_KEY', { ...loc, field: from }, `'${from}' and '${prev}' both map to canonical '${to}'`);
    }
    origin.set(to, from);
    tensors.set(to, t);
  };

  for (const [rawName, t] of src) {
    const target = canonicalName(rawName);
    switch (target.kind) {
      case 'unmapped':
        unmapped.push(rawName);
        break;
      case 'drop':
        schemes.add(target.scheme);
        dropped.push({ name: rawName, reason: target.reason });
        break;
      case 'qkv': {
        schemes.add('hf');
        const key = target.to;
        let parts = qkv.get(key);
        if (!parts) {
          parts = new Map();
          qkv.set(key, parts);
          if (origin.has(key)) throw new FormatError('E_DUPLICATE_KEY', { ...loc, field: rawName }, `'${rawName}' and '${origin.get(key)}' both map to canonical '${key}'`);
          // reserve the position in insertion order
          origin.set(key, rawName);
          tensors.set(key, t);
        }
        if (parts.has(target.part)) throw new FormatError('E_DUPLICATE_KEY', { ...loc, field: rawName }, `second '${target.part}' for ${key}`);
        parts.set(target.part, { name: rawName, t });
        break;
      }
      case 'rename': {
        schemes.add(target.scheme);
        let out = t;
        if (target.reshape === 'dropLastUnitAxis') {
          if (t.ndim !== 3 || t.shape[2] !== 1) {
            throw new FormatError('E_SHAPE', { ...loc, field: rawName }, `Conv1d weight must be (E, in, 1), got [${t.shape.join(',')}]`);
          }
          out = t.reshape([t.shape[0], t.shape[1]]);
        }
        put(target.to, out, rawName);
        if (target.to !== rawName) renamed.push({ from: rawName, to: target.to });
        break;
      }
    }
  }

  for (const [key, parts] of qkv) {
    const missing = ['query', 'key', 'value'].filter((p) => !parts.has(p));
    if (missing.length > 0) {
      throw new FormatError('E_NAME', { ...loc, field: key }, `Hugging Face attention for ${key} lacks ${missing.join(', ')}`);
    }
    const ts = ['query', 'key', 'value'].map((p) => parts.get(p)!);
    const fused = concatRows(ts.map((p) => p.t), { ...loc, field: ts[0].name });
    tensors.set(key, fused);
    for (const p of ts) renamed.push({ from: p.name, to: key });
  }
  return { tensors, schemes: [...schemes], dropped, unmapped, renamed };
}

/** Concatenate tensors along axis 0 (all f32 with equal trailing shapes). */
function concatRows(ts: Tensor[], loc: FormatLoc): Tensor {
  const first = ts[0];
  for (const t of ts) {
    if (t.dtype !== 'f32' || t.ndim !== first.ndim || t.shape.slice(1).some((d, i) => d !== first.shape[i + 1])) {
      throw new FormatError('E_SHAPE', loc, `q/k/v tensors disagree: ${ts.map((x) => `${x.dtype}[${x.shape.join(',')}]`).join(' ')}`);
    }
  }
  const rows = ts.reduce((s, t) => s + (t.ndim === 0 ? 1 : t.shape[0]), 0);
  const data = new Float32Array(ts.reduce((s, t) => s + t.size, 0));
  let off = 0;
  for (const t of ts) {
    data.set(t.data as Float32Array, off);
    off += t.size;
  }
  return new Tensor('f32', [rows, ...first.shape.slice(1)], data);
}
