/**
 * OMSE (QuantWM plan_quant_omse_rtn.py, w_quant_method = omse, a_quant_method = minmax): weights
 * use the per-row (or per-group) MSE clipping search of ../observers/omse.ts (101 ratios in
 * [0.35, 1], symmetric, s = absmax / qmax), then QuantWM's UniformQuantizer; activations as RTN
 * (or the OMSE activation search with `actObserver: 'omse'`, QuantWM's a_quant_method = omse).
 */
import { bitType } from '../bittype.js';
import { groupLayout } from '../granularity.js';
import { omseWeightSearch } from '../observers/omse.js';
import { bitsOf, layerPlanOf, quantwmActQuant, resolveConfig, selectTargets, weightGranularity, type LayerPlan, type MethodResult, type QuantConfig, type WeightQuant } from '../plan.js';
import type { CalibrationInputs, LinearParams, QuantTarget } from '../seam.js';
import { finish } from './common.js';

export interface OmseOptions {
  readonly config?: Partial<QuantConfig>;
  readonly calib?: CalibrationInputs;
  /** per-tensor activation observer: 'minmax' (README runs) or 'omse' */
  readonly actObserver?: 'minmax' | 'omse';
}

export function omse(targets: readonly QuantTarget[], opts: OmseOptions = {}): MethodResult {
  const cfg = resolveConfig(opts.config);
  const sel = selectTargets('omse', targets, cfg);
  const layers: LayerPlan[] = [];
  const weights = new Map<string, LinearParams>();
  for (const t of sel) {
    const { wbits, abits } = bitsOf(cfg, t.module);
    const act = quantwmActQuant(abits, cfg.act, cfg.act === 'per-tensor' ? (opts.actObserver ?? 'minmax') : 'minmax');
    if (wbits >= 16) {
      layers.push(layerPlanOf(t, null, act));
    } else {
      const gran = weightGranularity(cfg);
      const res = omseWeightSearch(t.weight, groupLayout(t.weight.shape, gran), bitType(wbits, true));
      const wq: WeightQuant = { bits: wbits, signed: true, rule: 'absmax-clamp', convention: 'quantwm-uniform', granularity: gran, qparams: res.qparams };
      layers.push(layerPlanOf(t, wq, act, [], { search: { kind: 'omse', ratio: res.ratio, error: res.error, errorAtOne: res.errorAtOne } }));
    }
    weights.set(t.name, { weight: t.weight, bias: t.bias });
  }
  return finish('omse', cfg, layers, weights, new Map(), opts.calib ?? null);
}
