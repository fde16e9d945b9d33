/**
 * Quantized world models in .qwm files: a real packed model, not float weights plus a recipe.
 *
 * Every quantized Linear's weight is stored as integer codes of its own dtype, 3- and 4-bit codes
 * packed two per byte (i4/u4, ../tensor/dtype.ts), 5..8-bit codes one per byte (i8/u8):
 *   `${name}.weight`        codes (out, in)
 *   `${name}.weight_scale`  f32 (groups)       one scale per channel or group
 *   `${name}.weight_zero`   i8/u8/i32 (groups) zero points, smallest dtype that holds them (omitted when all 0)
 * LayerNorms and biases hold the method's transformed float parameters; `config.quantization`
 * holds the QuantPlan (activation quantizers, transforms, searches: the audit trail) with the
 * weight qparams moved to the tensors above. Loading dequantizes the codes, W' = (q - z)·s in
 * float32, and the integer Linear re-quantizes it to exactly the same codes (quantize is
 * idempotent on its own grid), so a loaded model computes what the quantizing process computed.
 */
import { readQwm, writeQwm, type PlainData, type QwmReadOptions } from '../io/qwm.js';
import { FormatError } from '../io/errors.js';
import { loadWorldModel, worldModelFromParts, type ModelFileHeader } from '../nn/model-file.js';
import type { WorldModel } from '../nn/world-model.js';
import { Tensor } from '../tensor/tensor.js';
import { convention, dequantize, quantize, type QParams } from './affine.js';
import { bitType } from './bittype.js';
import { packInt4, unpackInt4 } from './packing.js';
import { weightLayout, type LayerPlan, type MethodResult, type QuantPlan } from './plan.js';
import type { LinearParams, NormParams } from './seam.js';
import { applyResult } from './model.js';

type Typed = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array;

/** Typed arrays inside the plan become {$t, v} records in the file's plain config, and back. */
function toPlain(x: unknown): PlainData {
  if (ArrayBuffer.isView(x)) {
    const a = x as Typed;
    return { $t: a.constructor.name, v: Array.from(a) };
  }
  if (Array.isArray(x)) return x.map(toPlain);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toPlain(v)]));
  return x as PlainData;
}

const CTORS: Record<string, (v: number[]) => Typed> = {
  Float32Array: (v) => Float32Array.from(v),
  Float64Array: (v) => Float64Array.from(v),
  Int32Array: (v) => Int32Array.from(v),
  Int8Array: (v) => Int8Array.from(v),
  Uint8Array: (v) => Uint8Array.from(v),
};

function fromPlain(x: PlainData, file: string): unknown {
  if (Array.isArray(x)) return x.map((y) => fromPlain(y, file));
  if (x && typeof x === 'object') {
    if (typeof x.$t === 'string' && Array.isArray(x.v)) {
      const mk = CTORS[x.$t];
      if (!mk) throw new FormatError('E_CONFIG', { file, field: 'config.quantization' }, `unknown array type ${x.$t}`);
      return mk(x.v as number[]);
    }
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, fromPlain(v, file)]));
  }
  return x;
}

/** Zero points in the smallest integer dtype that holds them all. */
function zeroTensor(zp: Float32Array): Tensor {
  const lo = Math.min(...zp);
  const hi = Math.max(...zp);
  if (lo >= -128 && hi <= 127) return new Tensor('i8', [zp.length], Int8Array.from(zp));
  if (lo >= 0 && hi <= 255) return new Tensor('u8', [zp.length], Uint8Array.from(zp));
  return new Tensor('i32', [zp.length], Int32Array.from(zp));
}

/** Codes of a layer's (transformed) weight, as the tensor that stores them. */
function codesOf(l: LayerPlan, w: Tensor<'f32'>): Tensor {
  const wq = l.weight!;
  const bt = bitType(wq.bits, wq.signed);
  const q = quantize(w, wq.qparams, weightLayout(wq, w.shape), bt, convention(wq.convention));
  if (wq.bits > 4) return q;
  return new Tensor(wq.signed ? 'i4' : 'u4', w.shape, packInt4(q.data as ArrayLike<number>, wq.signed));
}

/**
 * Serialize a quantized model: `m` holds the float model the method was run on, `result` the
 * method's plan and transformed parameters.
 */
export function saveQuantizedModel(m: WorldModel, result: MethodResult, meta: Record<string, unknown> = {}): Uint8Array {
  const tensors = new Map<string, Tensor>(m.weights);
  const layers = result.plan.layers.map((l) => {
    const p = result.weights.get(l.name)!;
    if (p.bias) tensors.set(`${l.name}.bias`, p.bias);
    if (!l.weight) {
      tensors.set(`${l.name}.weight`, p.weight);
      return l;
    }
    tensors.set(`${l.name}.weight`, codesOf(l, p.weight));
    tensors.set(`${l.name}.weight_scale`, new Tensor('f32', [l.weight.qparams.scale.length], l.weight.qparams.scale));
    const zp = l.weight.qparams.zeroPoint;
    if (zp.some((z) => z !== 0)) tensors.set(`${l.name}.weight_zero`, zeroTensor(zp));
    const { qparams: _stored, ...weight } = l.weight;
    return { ...l, weight };
  });
  for (const [name, n] of result.norms) {
    tensors.set(`${name}.weight`, n.weight);
    tensors.set(`${name}.bias`, n.bias);
  }
  // AWQ's ScaledActivation: s in front of the Linear `name` (the MLP feeds it gelu(h) · fr(1/s))
  for (const [name, sc] of result.actScales ?? []) tensors.set(`${name}.act_scale`, sc);
  const header: ModelFileHeader = { kind: 'world-model', model: m.config, stats: { proprioMean: [...m.stats.proprioMean], proprioStd: [...m.stats.proprioStd], actionMean: [...m.stats.actionMean], actionStd: [...m.stats.actionStd] } };
  return writeQwm({ config: { quantwm: header as unknown as PlainData, quantization: toPlain({ ...result.plan, layers }) }, tensors, meta });
}

/** Is this .qwm a quantized model? (cheap: reads the config only after the container checks) */
export function isQuantizedFile(config: Record<string, PlainData>): boolean {
  return config.quantization !== undefined;
}

/**
 * Load any quantwm world-model file: float models as they are, quantized ones with their Linear
 * implementations installed ('integer' kernels by default, or the 'fake' reference semantics).
 */
export function loadModel(bytes: Uint8Array, opts: QwmReadOptions & { exec?: 'integer' | 'fake' } = {}): { model: WorldModel; plan: QuantPlan | null; meta: Record<string, PlainData> } {
  const file = opts.file ?? '<model>';
  const q = readQwm(bytes, { ...opts, checkConfig: false });
  if (!isQuantizedFile(q.config)) {
    const { model, meta } = loadWorldModel(bytes, opts);
    return { model, plan: null, meta };
  }
  const stored = fromPlain(q.config.quantization, file) as QuantPlan;
  // Rebuild float weights: dequantized codes for quantized Linears, the rest as stored.
  const floats = new Map<string, Tensor>();
  const weights = new Map<string, LinearParams>();
  const norms = new Map<string, NormParams>();
  const layers: LayerPlan[] = stored.layers.map((l) => {
    const codes = q.tensors.get(`${l.name}.weight`);
    if (!codes) throw new FormatError('E_NAME', { file, field: `${l.name}.weight` }, 'missing quantized weight');
    const bias = (q.tensors.get(`${l.name}.bias`) as Tensor<'f32'> | undefined) ?? null;
    if (!l.weight) {
      weights.set(l.name, { weight: codes as Tensor<'f32'>, bias });
      return l;
    }
    const scale = q.tensors.get(`${l.name}.weight_scale`);
    if (!scale || scale.dtype !== 'f32') throw new FormatError('E_NAME', { file, field: `${l.name}.weight_scale` }, 'missing weight scales');
    const zt = q.tensors.get(`${l.name}.weight_zero`);
    const qparams: QParams = { scale: scale.data as Float32Array, zeroPoint: zt ? Float32Array.from(zt.data as ArrayLike<number>) : new Float32Array(scale.size) };
    const layer: LayerPlan = { ...l, weight: { ...l.weight, qparams } };
    const unpacked = codes.dtype === 'i4' || codes.dtype === 'u4' ? new Tensor(codes.dtype === 'i4' ? 'i8' : 'u8', codes.shape, codes.dtype === 'i4' ? unpackInt4(codes.data as Uint8Array, codes.size, true) : Uint8Array.from(unpackInt4(codes.data as Uint8Array, codes.size, false))) : codes;
    const w = dequantize(unpacked, qparams, weightLayout(layer.weight!, codes.shape));
    weights.set(l.name, { weight: w, bias });
    floats.set(`${l.name}.weight`, w);
    return layer;
  });
  for (const [n, t] of q.tensors) if (!floats.has(n) && t.dtype === 'f32') floats.set(n, t);
  // The float model the implementations sit on: dequantized weights stand in for the codes.
  const model = worldModelFromParts(q.config.quantwm as unknown as ModelFileHeader, floats, file);
  for (const b of [...model.encoder.blocks, ...model.predictor.blocks]) {
    for (const n of [b.norm1, b.norm2]) norms.set(n.name, { weight: n.weight, bias: n.bias });
  }
  const actScales = new Map<string, Tensor<'f32'>>();
  for (const l of layers) {
    const sc = q.tensors.get(`${l.name}.act_scale`);
    if (!sc) continue;
    if (sc.dtype !== 'f32' || sc.ndim !== 1 || sc.shape[0] !== l.inFeatures) {
      throw new FormatError('E_SHAPE', { file, field: `${l.name}.act_scale` }, `activation scale must be f32 (${l.inFeatures}), got ${sc.dtype} [${sc.shape.join(', ')}]`);
    }
    actScales.set(l.name, sc as Tensor<'f32'>);
  }
  const plan: QuantPlan = { ...stored, layers };
  applyResult(model, { plan, weights, norms, ...(actScales.size ? { actScales } : {}) }, opts.exec ?? 'integer');
  return { model, plan, meta: q.meta };
}
