/**
 * Phase 2, simulated: the fake-quant Linear, the reference semantics of every plan at any bit
 * width (what QuantWM runs). For input x (rows, in):
 *
 *   x̂ = fakeQuant(x, act)                     static per-tensor (calibrated) or dynamic per-token
 *   Ŵ = fakeQuant(W', weight quantizer)        computed once at install
 *   y = x̂ Ŵᵀ (+ b)                             float32 GEMM through backend().gemmF32, then
 *                                              y = fr(y + b[n]) when a bias is given
 *
 * The object is shaped like nn's LinearImpl ({ kind, forward }) so the coordinator can set it on
 * a Linear; quant does not import nn.
 */
import { backend } from '../tensor/backend.js';
import { ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { chooseQParams, convention, fakeQuantize, groupMinMax } from './affine.js';
import { bitType } from './bittype.js';
import { PER_TENSOR, PER_TOKEN, groupLayout } from './granularity.js';
import type { ActQuant, LayerPlan, MethodResult, WeightQuant } from './plan.js';
import type { LinearParams } from './seam.js';

const fr = Math.fround;

/** Ŵ = fakeQuantize(W, wq) over its granularity. @param w (out, in) */
export function fakeQuantWeight(w: Tensor<'f32'>, wq: WeightQuant): Tensor<'f32'> {
  return fakeQuantize(w, wq.qparams, groupLayout(w.shape, wq.granularity), bitType(wq.bits, wq.signed), convention(wq.convention));
}

/**
 * x̂ for an input-activation quantizer.
 * @param x (rows, in)
 * @throws ValueError for a static quantizer that was never calibrated
 */
export function fakeQuantActivation(x: Tensor<'f32'>, act: ActQuant, where = 'fakeQuantActivation'): Tensor<'f32'> {
  const bt = bitType(act.bits, act.signed);
  const conv = convention(act.convention);
  if (act.granularity === 'per-tensor') {
    if (!act.qparams) throw new ValueError(where, 'static per-tensor activation quantizer is not calibrated');
    return fakeQuantize(x, act.qparams, groupLayout(x.shape, PER_TENSOR), bt, conv);
  }
  const layout = groupLayout(x.shape, PER_TOKEN);
  const { min, max } = groupMinMax(x, layout);
  return fakeQuantize(x, chooseQParams(min, max, bt, act.rule), layout, bt, conv);
}

/**
 * y = x Wᵀ (+ b): float32 GEMM via the backend, then fr(y + b) per element.
 * @param x (rows, in) @param w (out, in) @param bias (out) or null @returns (rows, out)
 */
export function linearF32(x: Tensor<'f32'>, w: Tensor<'f32'>, bias: Tensor<'f32'> | null): Tensor<'f32'> {
  const [M, K] = x.shape;
  const [N, K2] = w.shape;
  if (x.ndim !== 2 || w.ndim !== 2 || K !== K2) throw new ShapeError('linearF32', `x ${fmtShape(x.shape)} and weight ${fmtShape(w.shape)} do not fit`);
  const y = new Float32Array(M * N);
  backend().gemmF32(M, N, K, x.f32, w.f32, true, y);
  if (bias) {
    const b = bias.f32;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) y[m * N + n] = fr(y[m * N + n] + b[n]);
  }
  return new Tensor('f32', [M, N], y);
}

/** A Linear running the plan's fake-quant semantics. */
export class FakeQuantLinear {
  readonly kind = 'fake-quant';
  readonly name: string;
  /** Ŵ (out, in), already fake-quantized (W' when the weights stay float) */
  readonly weightHat: Tensor<'f32'>;
  readonly bias: Tensor<'f32'> | null;
  readonly act: ActQuant | null;

  constructor(
    readonly layer: LayerPlan,
    params: LinearParams,
  ) {
    const w = params.weight;
    if (w.ndim !== 2 || w.shape[0] !== layer.outFeatures || w.shape[1] !== layer.inFeatures) {
      throw new ShapeError(`FakeQuantLinear(${layer.name})`, `weight ${fmtShape(w.shape)} is not (${layer.outFeatures}, ${layer.inFeatures})`);
    }
    this.name = layer.name;
    this.weightHat = layer.weight ? fakeQuantWeight(w, layer.weight) : w;
    this.bias = params.bias;
    this.act = layer.act;
    if (this.act && this.act.granularity === 'per-tensor' && !this.act.qparams) {
      throw new ValueError(`FakeQuantLinear(${layer.name})`, 'static per-tensor activation quantizer is not calibrated: run calibration first');
    }
  }

  /** @param x (rows, in) @returns (rows, out) */
  forward(x: Tensor<'f32'>): Tensor<'f32'> {
    if (x.ndim !== 2 || x.shape[1] !== this.layer.inFeatures) {
      throw new ShapeError(this.name, `input ${fmtShape(x.shape)} is not (rows, ${this.layer.inFeatures})`);
    }
    const xq = this.act ? fakeQuantActivation(x, this.act, this.name) : x;
    return linearF32(xq, this.weightHat, this.bias);
  }
}

/** y = layer.forward(x): the fake-quant Linear as a function. @param x (rows, in) */
export function fakeQuantLinear(x: Tensor<'f32'>, layer: FakeQuantLinear): Tensor<'f32'> {
  return layer.forward(x);
}

/** Phase 2: one FakeQuantLinear per planned layer, from the method's transformed weights. */
export function installFakeQuant(result: Pick<MethodResult, 'plan' | 'weights'>): Map<string, FakeQuantLinear> {
  const out = new Map<string, FakeQuantLinear>();
  for (const layer of result.plan.layers) {
    const p = result.weights.get(layer.name);
    if (!p) throw new ValueError('installFakeQuant', `no weights for planned layer '${layer.name}'`);
    out.set(layer.name, new FakeQuantLinear(layer, p));
  }
  return out;
}
