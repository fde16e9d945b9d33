/**
 * The audit trail of a quantized model, for people who recompute quantization by hand: per
 * layer the quantizers and their conventions, every channel's or group's scale and zero point,
 * what each search chose and measured, the equivalent transforms with their scales and shifts,
 * GPTQ's errors; and, against the float model, each layer's weight and output error and bytes.
 */
import type { WorldModel } from '../nn/world-model.js';
import { linear } from '../tensor/ops/matmul.js';
import { describeWeightQuant, type QuantPlan } from './plan.js';
import { convention } from './affine.js';
import { fakeQuantWeight } from './execute.js';
import { transformInputs } from './methods/transforms.js';
import type { CalibrationInputs } from './seam.js';

const plain = (a: ArrayLike<number> | undefined): number[] | undefined => (a ? Array.from(a) : undefined);

/** Everything in the plan, JSON-ready, one record per layer. */
export function auditPlan(plan: QuantPlan): Record<string, unknown> {
  return {
    method: plan.method,
    semantics: plan.semantics,
    config: plan.config,
    layers: plan.layers.map((l) => ({
      name: l.name,
      module: l.module,
      block: l.block,
      role: l.role,
      shape: [l.outFeatures, l.inFeatures],
      weight: l.weight && {
        quantizer: describeWeightQuant(l.weight),
        bits: l.weight.bits,
        signed: l.weight.signed,
        rule: l.weight.rule,
        convention: l.weight.convention,
        rounding: convention(l.weight.convention).name,
        granularity: l.weight.granularity,
        scale: plain(l.weight.qparams.scale),
        zero_point: plain(l.weight.qparams.zeroPoint),
      },
      activation: l.act && { ...l.act, qparams: l.act.qparams && { scale: plain(l.act.qparams.scale), zero_point: plain(l.act.qparams.zeroPoint) } },
      transforms: l.transforms.map((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v]))),
      search: l.search && { kind: l.search.kind, ratio: plain(l.search.ratio), error: plain(l.search.error), error_at_one: plain(l.search.errorAtOne) },
      notes: l.notes,
    })),
  };
}

export interface LayerError {
  name: string;
  /** implementation the layer runs on */
  impl: string;
  /** ||W - Ŵ||_F / ||W||_F, Ŵ the deployed weight mapped back through the method's column scales */
  weight_rel_error: number;
  /** ||y - ŷ||_2 / ||y||_2 on the float model's recorded inputs x: y = float layer(x), ŷ = deployed layer(transformed x) */
  output_rel_error: number;
  /** bytes of the deployed weight: codes + scales + zero points, or float32 */
  bytes: number;
}

/**
 * Per-layer errors of a quantized model against its float original, on inputs recorded from the
 * float model (`inputs`, e.g. a CalibrationRecorder's). Layers whose method folded scales s (and
 * shifts) into the previous op see x' = (x - shift) / s, exactly what the model feeds them.
 */
export function layerErrors(float: WorldModel, quant: WorldModel, plan: QuantPlan, inputs: CalibrationInputs): LayerError[] {
  const fl = new Map(float.linears().map((l) => [l.linear.name, l.linear]));
  const ql = new Map(quant.linears().map((l) => [l.linear.name, l.linear]));
  const out: LayerError[] = [];
  for (const layer of plan.layers) {
    const f = fl.get(layer.name);
    const q = ql.get(layer.name);
    const x = inputs.get(layer.name);
    if (!f || !q || !q.impl || !x) continue;
    let xq = x;
    let colScale: Float32Array | null = null;
    for (const t of layer.transforms) {
      if (t.kind !== 'smooth') continue;
      xq = transformInputs(xq, t.scales, t.shifts);
      colScale = colScale ? colScale.map((v, j) => v * t.scales[j]) : t.scales.slice();
    }
    const yf = linear(x, f.weight, f.bias).f32;
    const yq = q.impl.forward(xq).f32;
    let num = 0;
    let den = 0;
    for (let i = 0; i < yf.length; i++) {
      num += (yf[i] - yq[i]) ** 2;
      den += yf[i] ** 2;
    }
    const wHat = layer.weight ? fakeQuantWeight(q.weight, layer.weight).f32 : q.weight.f32;
    const I = f.inFeatures;
    let wn = 0;
    let wd = 0;
    for (let i = 0; i < wHat.length; i++) {
      const w = f.weight.f32[i];
      const back = colScale ? wHat[i] / colScale[i % I] : wHat[i];
      wn += (w - back) ** 2;
      wd += w * w;
    }
    const n = f.inFeatures * f.outFeatures;
    const bytes = layer.weight ? Math.ceil((n * (layer.weight.bits <= 4 ? 4 : 8)) / 8) + 5 * layer.weight.qparams.scale.length : 4 * n;
    out.push({ name: layer.name, impl: q.impl.kind, weight_rel_error: Math.sqrt(wn / wd), output_rel_error: Math.sqrt(num / den), bytes });
  }
  return out;
}
