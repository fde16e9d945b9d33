/** Shared steps of the methods: act quantizers from the config, finishing a plan (offline calibration). */
import { calibrateActivations } from '../calibration.js';
import { bitsOf, makePlan, quantwmActQuant, type ActQuant, type LayerPlan, type MethodName, type MethodResult, type QuantConfig } from '../plan.js';
import type { CalibrationInputs, LinearParams, NormParams, QuantTarget } from '../seam.js';

/** QuantWM's input quantizer for a target (uint, asymmetric; per-tensor static or per-token dynamic). */
export function actFor(cfg: QuantConfig, t: QuantTarget): ActQuant | null {
  return quantwmActQuant(bitsOf(cfg, t.module).abits, cfg.act);
}

/**
 * Assemble the result; when calibration inputs are given (already transformed the way the
 * method transformed the model), static activation quantizers are calibrated offline from them.
 */
export function finish(
  method: MethodName,
  cfg: QuantConfig,
  layers: LayerPlan[],
  weights: Map<string, LinearParams>,
  norms: Map<string, NormParams>,
  actInputs: CalibrationInputs | null,
): MethodResult {
  let plan = makePlan(method, cfg, layers);
  const needs = layers.some((l) => l.act && l.act.granularity === 'per-tensor');
  if (needs && actInputs) plan = calibrateActivations(plan, actInputs);
  return { plan, weights, norms };
}
