/**
 * Activation calibration: static per-tensor input quantizers get their (s, z) from observed
 * inputs, then are frozen (QuantWM's QAct state machine, reference/quantwm-dinowm-spec.md A.3-A.4).
 *
 * Online (as QuantWM): plug `calibrator.observer(name)` into each Linear's input-observer hook
 * during the first quant_iter MPC iterations on calibration seeds, then `finalize()`.
 * Offline: `calibrateActivations(plan, inputs)` with dataset-frame inputs.
 * Per-token quantizers are dynamic and need no calibration.
 */
import { ValueError } from '../tensor/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { bitType } from './bittype.js';
import { PER_TENSOR } from './granularity.js';
import { MinMaxObserver } from './observers/minmax.js';
import { omseActivationSearch } from './observers/omse.js';
import { PercentileObserver } from './observers/percentile.js';
import type { ActQuant, LayerPlan, QuantPlan } from './plan.js';
import type { CalibrationInputs } from './seam.js';

interface Slot {
  layer: LayerPlan;
  act: ActQuant;
  minmax: MinMaxObserver;
  percentile: PercentileObserver | null;
  last: Tensor | null;
}

export class ActivationCalibrator {
  private readonly slots = new Map<string, Slot>();

  constructor(readonly plan: QuantPlan) {
    for (const layer of plan.layers) {
      const act = layer.act;
      if (!act || act.granularity !== 'per-tensor') continue;
      this.slots.set(layer.name, {
        layer,
        act,
        minmax: new MinMaxObserver(PER_TENSOR),
        percentile: act.observer === 'percentile' ? new PercentileObserver() : null,
        last: null,
      });
    }
  }

  /** Names of the Linears whose inputs need observing. */
  get names(): string[] {
    return [...this.slots.keys()];
  }

  /** An observer for nn's Linear seam: (rows, in) inputs of `name`. */
  observer(name: string): (x: Tensor<'f32'>) => void {
    if (!this.slots.has(name)) throw new ValueError('ActivationCalibrator.observer', `layer '${name}' has no static activation quantizer`);
    return (x) => this.observe(name, x);
  }

  /** Fold one input tensor (..., in) of `name` into its running statistics. */
  observe(name: string, x: Tensor): void {
    const s = this.slots.get(name);
    if (!s) throw new ValueError('ActivationCalibrator.observe', `layer '${name}' has no static activation quantizer`);
    if (x.shape[x.shape.length - 1] !== s.layer.inFeatures) {
      throw new ValueError('ActivationCalibrator.observe', `${name}: input width ${x.shape[x.shape.length - 1]} != in_features ${s.layer.inFeatures}`);
    }
    s.minmax.observe(x);
    s.percentile?.observe(x);
    s.last = x; // QuantWM's OMSE activation search runs on the tensor of the last call
  }

  /** The plan with every static activation quantizer's parameters set. @throws ValueError for a layer never observed */
  finalize(): QuantPlan {
    const layers = this.plan.layers.map((layer) => {
      const s = this.slots.get(layer.name);
      if (!s) return layer;
      if (s.minmax.count === 0) throw new ValueError('ActivationCalibrator.finalize', `layer '${layer.name}' was never observed`);
      const bt = bitType(s.act.bits, s.act.signed);
      let qparams;
      if (s.act.observer === 'omse') {
        qparams = omseActivationSearch(s.last as Tensor, s.minmax.min[0], s.minmax.max[0], bt).qparams;
      } else if (s.act.observer === 'percentile') {
        qparams = (s.percentile as PercentileObserver).qparams(bt, s.act.rule);
      } else {
        qparams = s.minmax.qparams(bt, s.act.rule);
      }
      return { ...layer, act: { ...s.act, qparams } };
    });
    return { ...this.plan, layers };
  }
}

/** Offline calibration: observe each layer's inputs once and finalize. Layers without inputs are an error. */
export function calibrateActivations(plan: QuantPlan, inputs: CalibrationInputs): QuantPlan {
  const cal = new ActivationCalibrator(plan);
  for (const name of cal.names) {
    const x = inputs.get(name);
    if (!x) throw new ValueError('calibrateActivations', `no calibration input for '${name}'`);
    cal.observe(name, x);
  }
  return cal.finalize();
}
