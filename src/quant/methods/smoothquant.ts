/**
 * SmoothQuant (Xiao et al. 2023; QuantWM plan_act.py + plan_quant_smooth.py).
 *
 *   act_j = max over calibration tokens |x_j|            (plan_act.py: running max over planning)
 *   wmax_j = max over rows of every Linear fed by the LN, |W_ij|
 *   s_j = max( max(act_j, 1e-5)^α / max(wmax_j, 1e-5)^(1-α), 1e-5 )        α = 0.5 (QuantWM)
 *   LN.w /= s, LN.b /= s, W[:, j] *= s_j       applied to LN→qkv and LN→fc1 only (QuantWM and
 *                                              the paper's OPT recipe); v→proj, fc1→fc2 untouched
 *
 * Then quantization:
 *   'quantwm': QuantWM's RTN (int-b 'minmax-sym' weights, uint-b asymmetric activations),
 *   'paper'  : the published W8A8 fake-quant: weights per channel s = max|w| / qmax
 *              ('absmax-floor'), activations symmetric int-b, s = max|x| / qmax, per-tensor static
 *              or per-token dynamic.
 * Powers are float64 (../../tensor/math.ts pow) rounded to float32 once; torch uses powf, which
 * can differ in the last bit.
 */
import { ShapeError, ValueError } from '../../tensor/errors.js';
import { pow } from '../../tensor/math.js';
import { bitType } from '../bittype.js';
import {
  bitsOf,
  layerPlanOf,
  minmaxWeightQuant,
  resolveConfig,
  selectTargets,
  weightGranularity,
  type ActQuant,
  type LayerPlan,
  type MethodResult,
  type QuantConfig,
  type Transform,
} from '../plan.js';
import { calibInput, normGroups, type CalibrationInputs, type LinearParams, type NormParams, type QuantTarget } from '../seam.js';
import { actFor, finish } from './common.js';
import { columnAbsMax, scaleColumns, smoothNorm, transformInputs, weightColumnAbsMax } from './transforms.js';
import { CLIP_MIN } from '../affine.js';

const fr = Math.fround;

export interface SmoothQuantOptions {
  readonly config?: Partial<QuantConfig>;
  /** float-model inputs (N, in) of each Linear: give act scales (when actMax is absent) and calibrate activations */
  readonly calib?: CalibrationInputs;
  /** migration strength, default 0.5 */
  readonly alpha?: number;
  /** precomputed per-channel max |x| per Linear name (QuantWM's wm_act_scales file) */
  readonly actMax?: ReadonlyMap<string, Float32Array>;
}

/**
 * s_j = max(fr(fr(max(act_j, 1e-5)^α) / fr(max(wmax_j, 1e-5)^(1-α))), 1e-5).
 * Worked number: act 16, wmax 0.25, α = 0.5: 4 / 0.5 = 8.
 */
export function smoothScales(actMax: Float32Array, weightMax: Float32Array, alpha: number): Float32Array {
  const where = 'smoothScales';
  if (actMax.length !== weightMax.length) throw new ShapeError(where, `act max has ${actMax.length} channels, weight max ${weightMax.length}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new ValueError(where, `alpha must be in [0, 1], got ${alpha}`);
  for (let j = 0; j < actMax.length; j++) {
    if (!Number.isFinite(actMax[j]) || !Number.isFinite(weightMax[j])) throw new ValueError(where, `channel ${j}: act max ${actMax[j]}, weight max ${weightMax[j]}`);
  }
  const s = new Float32Array(actMax.length);
  const b = fr(1 - alpha);
  const a = fr(alpha);
  for (let j = 0; j < s.length; j++) {
    const num = fr(pow(Math.max(actMax[j], CLIP_MIN), a));
    const den = fr(pow(Math.max(weightMax[j], CLIP_MIN), b));
    s[j] = Math.max(fr(num / den), CLIP_MIN);
  }
  return s;
}

/** The published SmoothQuant activation quantizer: symmetric int-b, s = max|x| / qmax. */
function paperAct(abits: number, act: 'per-tensor' | 'per-token'): ActQuant | null {
  if (abits >= 16) return null;
  bitType(abits, true);
  return { bits: abits, signed: true, granularity: act, rule: 'absmax-floor', convention: 'onnx', observer: 'minmax', qparams: null };
}

export function smoothQuant(targets: readonly QuantTarget[], opts: SmoothQuantOptions = {}): MethodResult {
  const where = 'smoothQuant';
  const cfg = resolveConfig(opts.config);
  const alpha = opts.alpha ?? 0.5;
  const sel = selectTargets(where, targets, cfg);
  const weights = new Map<string, LinearParams>();
  const norms = new Map<string, NormParams>();
  const transforms = new Map<string, Transform[]>();
  const actInputs = new Map<string, ReturnType<typeof transformInputs>>();
  for (const t of sel) weights.set(t.name, { weight: t.weight, bias: t.bias });
  if (opts.calib) for (const t of sel) if (opts.calib.has(t.name)) actInputs.set(t.name, calibInput(where, opts.calib, t));

  for (const [normName, { norm, linears }] of normGroups(sel.filter((t) => t.role === 'qkv' || t.role === 'fc1'))) {
    let act: Float32Array | undefined;
    for (const l of linears) {
      const a = opts.actMax?.get(l.name) ?? (opts.calib ? columnAbsMax(calibInput(where, opts.calib, l)) : undefined);
      if (!a) continue;
      if (act === undefined) act = a.slice();
      else for (let j = 0; j < a.length; j++) act[j] = Math.max(act[j], a[j]);
    }
    if (act === undefined) continue; // QuantWM skips a pair whose act scales are missing
    const s = smoothScales(act, weightColumnAbsMax(linears.map((l) => l.weight)), alpha);
    norms.set(normName, smoothNorm(norm, s));
    for (const l of linears) {
      weights.set(l.name, { weight: scaleColumns(l.weight, s), bias: l.bias });
      transforms.set(l.name, [{ kind: 'smooth', by: 'smoothquant', prev: normName, scales: s, alpha }]);
      const x = actInputs.get(l.name);
      if (x) actInputs.set(l.name, transformInputs(x, s));
    }
  }

  const layers: LayerPlan[] = sel.map((t) => {
    const { wbits, abits } = bitsOf(cfg, t.module);
    const w = (weights.get(t.name) as LinearParams).weight;
    const tr = transforms.get(t.name) ?? [];
    if (cfg.semantics === 'paper') {
      const wq = wbits >= 16 ? null : minmaxWeightQuant(w, wbits, weightGranularity(cfg), 'absmax-floor', 'onnx');
      return layerPlanOf(t, wq, paperAct(abits, cfg.act), tr);
    }
    const wq = wbits >= 16 ? null : minmaxWeightQuant(w, wbits, weightGranularity(cfg));
    return layerPlanOf(t, wq, actFor(cfg, t), tr);
  });
  return finish('smoothquant', cfg, layers, weights, norms, opts.calib ? actInputs : null);
}
