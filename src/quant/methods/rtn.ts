/**
 * RTN (QuantWM plan_quant_omse_rtn.py, w_quant_method = a_quant_method = minmax):
 *   weights: symmetric int-b, s = absmax / ((2^b - 1)/2) per output channel or group, data-free;
 *   activations: asymmetric uint-b, per-tensor from the calibrated global min/max, or dynamic
 *   per-token. Both semantics are the same method.
 */
import { bitsOf, layerPlanOf, minmaxWeightQuant, resolveConfig, selectTargets, weightGranularity, type LayerPlan, type MethodResult, type QuantConfig } from '../plan.js';
import type { CalibrationInputs, LinearParams, QuantTarget } from '../seam.js';
import { actFor, finish } from './common.js';

export interface RtnOptions {
  readonly config?: Partial<QuantConfig>;
  /** float-model inputs of each Linear (N, in), for static activation calibration */
  readonly calib?: CalibrationInputs;
}

export function rtn(targets: readonly QuantTarget[], opts: RtnOptions = {}): MethodResult {
  const cfg = resolveConfig(opts.config);
  const sel = selectTargets('rtn', targets, cfg);
  const layers: LayerPlan[] = [];
  const weights = new Map<string, LinearParams>();
  for (const t of sel) {
    const { wbits } = bitsOf(cfg, t.module);
    const wq = wbits >= 16 ? null : minmaxWeightQuant(t.weight, wbits, weightGranularity(cfg));
    layers.push(layerPlanOf(t, wq, actFor(cfg, t)));
    weights.set(t.name, { weight: t.weight, bias: t.bias });
  }
  return finish('rtn', cfg, layers, weights, new Map(), opts.calib ?? null);
}
