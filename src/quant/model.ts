/**
 * Quantizing a WorldModel: the glue between nn's Linear seam and the model-agnostic methods.
 *
 *   targets = quantTargets(model)                      4 Linears per block, with the LayerNorm feeding qkv / fc1
 *   rec = new CalibrationRecorder(model, ...)          observes every Linear input while the float model plans
 *   result = quantizeTargets(method, targets, calib)   phase 1: QuantPlan + transformed float weights
 *   applyResult(model, result, 'integer' | 'fake')     phase 2: weights/norms replaced, implementations installed
 */
import { gelu } from '../tensor/ops/activation.js';
import { linear } from '../tensor/ops/matmul.js';
import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { Tensor } from '../tensor/tensor.js';
import type { Block } from '../nn/layers.js';
import type { WorldModel } from '../nn/world-model.js';
import { installFakeQuant } from './execute.js';
import { installInteger } from './integer-linear.js';
import { awq, type InspectFn } from './methods/awq.js';
import { gptq } from './methods/gptq.js';
import { omniQuant } from './methods/omniquant.js';
import { omse } from './methods/omse.js';
import { rtn } from './methods/rtn.js';
import { smoothQuant } from './methods/smoothquant.js';
import type { MethodName, MethodResult, QuantConfig } from './plan.js';
import type { CalibrationInputs, QuantTarget } from './seam.js';

function blocksOf(m: WorldModel): { module: 'encoder' | 'predictor'; i: number; b: Block }[] {
  return [...m.encoder.blocks.map((b, i) => ({ module: 'encoder' as const, i, b })), ...m.predictor.blocks.map((b, i) => ({ module: 'predictor' as const, i, b }))];
}

/** The Linears QuantWM quantizes (48 in the full encoder, 24 in the predictor), as QuantTargets. */
export function quantTargets(m: WorldModel): QuantTarget[] {
  const out: QuantTarget[] = [];
  for (const { module, i, b } of blocksOf(m)) {
    const n1 = { name: b.norm1.name, weight: b.norm1.weight, bias: b.norm1.bias };
    const n2 = { name: b.norm2.name, weight: b.norm2.weight, bias: b.norm2.bias };
    const t = (l: typeof b.attn.qkv, role: QuantTarget['role'], prevNorm?: typeof n1): QuantTarget => ({ name: l.name, weight: l.weight, bias: l.bias, module, block: i, role, prevNorm });
    out.push(t(b.attn.qkv, 'qkv', n1), t(b.attn.proj, 'proj'), t(b.mlp.fc1, 'fc1', n2), t(b.mlp.fc2, 'fc2'));
  }
  return out;
}

/**
 * Records the inputs of every quantizable Linear while the float model runs (planning traffic on
 * calibration seeds, or dataset frames): a uniform reservoir of `rows` input rows per Linear
 * (Algorithm R, seeded), plus the exact per-channel min and max over ALL rows seen. The two
 * extreme rows are appended to the reservoir, so per-tensor min-max observers (and SmoothQuant's
 * per-channel |x| max) see the true global range of the whole calibration run.
 */
export class CalibrationRecorder {
  private readonly res = new Map<string, { buf: Float32Array; n: number; seen: number; lo: Float32Array; hi: Float32Array; inF: number }>();
  private readonly rng: Rng;
  constructor(
    readonly model: WorldModel,
    readonly rows = 2048,
    seed = 0,
  ) {
    this.rng = new Rng(seed);
  }

  attach(): void {
    for (const t of quantTargets(this.model)) {
      const lin = this.linearByName(t.name);
      const inF = lin.inFeatures;
      const slot = { buf: new Float32Array(this.rows * inF), n: 0, seen: 0, lo: new Float32Array(inF).fill(Infinity), hi: new Float32Array(inF).fill(-Infinity), inF };
      this.res.set(t.name, slot);
      lin.observer = (x) => {
        const X = x.f32;
        const R = x.shape[0];
        for (let r = 0; r < R; r++) {
          const o = r * inF;
          for (let j = 0; j < inF; j++) {
            const v = X[o + j];
            if (v < slot.lo[j]) slot.lo[j] = v;
            if (v > slot.hi[j]) slot.hi[j] = v;
          }
          const k = slot.seen < this.rows ? slot.seen : this.rng.int(slot.seen + 1);
          if (k < this.rows) slot.buf.set(X.subarray(o, o + inF), k * inF);
          slot.seen++;
        }
        slot.n = Math.min(slot.seen, this.rows);
      };
    }
  }

  detach(): void {
    for (const t of quantTargets(this.model)) this.linearByName(t.name).observer = null;
  }

  /** (N, in) per Linear: the reservoir, then the per-channel min row and max row. */
  inputs(): CalibrationInputs {
    const out = new Map<string, Tensor<'f32'>>();
    for (const [name, s] of this.res) {
      if (s.seen === 0) throw new ValueError('CalibrationRecorder', `Linear ${name} saw no input: run the model while attached`);
      const data = new Float32Array((s.n + 2) * s.inF);
      data.set(s.buf.subarray(0, s.n * s.inF));
      data.set(s.lo, s.n * s.inF);
      data.set(s.hi, (s.n + 1) * s.inF);
      out.set(name, new Tensor('f32', [s.n + 2, s.inF], data));
    }
    return out;
  }

  /** Rows observed per Linear (all traffic, not only the reservoir). */
  seen(name: string): number {
    return this.res.get(name)?.seen ?? 0;
  }

  private linearByName(name: string): WorldModel['encoder']['patchEmbed'] {
    const l = this.model.linears().find((x) => x.linear.name === name);
    if (!l) throw new ValueError('CalibrationRecorder', `no Linear ${name}`);
    return l.linear;
  }
}

/**
 * AWQ's module2inspect for the fc1 pair: fc2(GELU(fc1(x))), the MLP output the scale search
 * protects. (qkv uses AWQ's default, the pair's own outputs: attention needs whole sequences,
 * which a row reservoir does not keep.)
 */
export function awqInspect(m: WorldModel): Map<string, InspectFn> {
  const out = new Map<string, InspectFn>();
  for (const { b } of blocksOf(m)) {
    const fc2 = b.mlp.fc2;
    out.set(b.mlp.fc1.name, (x, [w1]) => linear(gelu(linear(x, w1, b.mlp.fc1.bias)), fc2.weight, fc2.bias));
  }
  return out;
}

/** Phase 1: run `method` on the model's targets. */
export function quantizeTargets(m: WorldModel, method: MethodName, config: Partial<QuantConfig>, calib: CalibrationInputs | null): MethodResult {
  const targets = quantTargets(m);
  const need = (): CalibrationInputs => {
    if (!calib) throw new ValueError('quantize', `${method} needs calibration inputs`);
    return calib;
  };
  switch (method) {
    case 'rtn':
      return rtn(targets, { config, calib: calib ?? undefined });
    case 'omse':
      return omse(targets, { config, calib: calib ?? undefined });
    case 'smoothquant':
      return smoothQuant(targets, { config, calib: need() });
    case 'awq':
      return awq(targets, { config, calib: need(), inspect: awqInspect(m) });
    case 'gptq':
      return gptq(targets, { config, calib: need() });
    case 'omniquant':
      return omniQuant(targets, { config, calib: need() });
  }
}

/**
 * Phase 2: put the method's transformed float weights, LayerNorm parameters and activation scales
 * (AWQ's ScaledActivation in front of fc2) into the model and
 * install the Linear implementations: 'integer' (int8 / packed int4 kernels, f32 fallback where a
 * layout has no kernel) or 'fake' (the reference fake-quant semantics).
 */
export function applyResult(m: WorldModel, result: MethodResult, exec: 'integer' | 'fake'): void {
  const byName = new Map(m.linears().map((l) => [l.linear.name, l.linear]));
  for (const [name, p] of result.weights) {
    const l = byName.get(name);
    if (!l) throw new ValueError('applyResult', `plan names a Linear the model does not have: ${name}`);
    l.weight = p.weight;
    l.bias = p.bias;
    l.dropPacked();
  }
  const norms = new Map(blocksOf(m).flatMap(({ b }) => [b.norm1, b.norm2]).map((n) => [n.name, n]));
  for (const [name, p] of result.norms) {
    const n = norms.get(name);
    if (!n) throw new ValueError('applyResult', `plan names a LayerNorm the model does not have: ${name}`);
    n.weight = p.weight;
    n.bias = p.bias;
  }
  if (result.actScales?.size) {
    const mlps = new Map(blocksOf(m).map(({ b }) => [b.mlp.fc2.name, b.mlp]));
    for (const [name, s] of result.actScales) {
      const mlp = mlps.get(name);
      if (!mlp) throw new ValueError('applyResult', `activation scale for ${name}, which is not an MLP's fc2`);
      mlp.actScale = s;
    }
  }
  const impls = exec === 'integer' ? installInteger(result) : installFakeQuant(result);
  for (const [name, impl] of impls) byName.get(name)!.impl = impl;
}
