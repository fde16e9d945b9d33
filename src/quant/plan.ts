/**
 * QuantPlan: phase 1 of quantization. A method reads QuantTargets and calibration inputs and
 * returns a plan (per Linear: the weight quantizer, the input-activation quantizer, the
 * equivalent transforms it applied and what its searches measured) plus the transformed float
 * weights. Phase 2 (./execute.ts fake-quant, ./integer-linear.ts integer kernels) turns a plan
 * into Linear implementations; nothing here runs a model.
 *
 * QuantWM quantizes the 4 Linears per block and their input activations; attention matmuls,
 * softmax, LayerNorm, embeddings stay float. Encoder and predictor have separate bit widths;
 * any subset of Linears can be chosen (`layers`).
 */
import { ValueError } from '../tensor/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  chooseQParams,
  convention,
  groupMinMax,
  type ConventionName,
  type QParams,
  type ScaleRule,
} from './affine.js';
import { bitType, isOff } from './bittype.js';
import { PER_CHANNEL, granularityName, groupLayout, type Granularity, type GroupLayout } from './granularity.js';
import { checkTarget, type LinearParams, type ModuleName, type NormParams, type QuantTarget, type Semantics } from './seam.js';

export type MethodName = 'rtn' | 'omse' | 'smoothquant' | 'awq' | 'omniquant' | 'gptq';

export interface BitsPair {
  /** weight bits 2..8, 16 = float */
  readonly wbits: number;
  /** activation bits 2..8, 16 = float */
  readonly abits: number;
}

export interface QuantConfig {
  readonly encoder: BitsPair;
  readonly predictor: BitsPair;
  /** weight group size along in_features; -1 = one scale per output channel */
  readonly groupSize: number;
  /** 'flat' = QuantWM's W.reshape(-1, G); 'row-aligned' = groups restart at every row */
  readonly groupLayout: 'flat' | 'row-aligned';
  /** input activations: static per-tensor (calibrated) or dynamic per-token */
  readonly act: 'per-tensor' | 'per-token';
  readonly semantics: Semantics;
  /** names of the Linears to quantize; null = every target given */
  readonly layers: readonly string[] | null;
}

/** QuantWM's README default: W8A8 everywhere, per-channel weights, per-tensor activations. */
export const DEFAULT_CONFIG: QuantConfig = Object.freeze({
  encoder: Object.freeze({ wbits: 8, abits: 8 }),
  predictor: Object.freeze({ wbits: 8, abits: 8 }),
  groupSize: -1,
  groupLayout: 'flat',
  act: 'per-tensor',
  semantics: 'quantwm',
  layers: null,
});

/** Defaults filled in and every field checked. @throws ValueError naming the field */
export function resolveConfig(partial: Partial<QuantConfig> = {}): QuantConfig {
  const c: QuantConfig = { ...DEFAULT_CONFIG, ...partial };
  for (const m of ['encoder', 'predictor'] as const) {
    bitType(c[m].wbits, true);
    bitType(c[m].abits, false);
  }
  if (c.groupSize !== -1 && (!Number.isInteger(c.groupSize) || c.groupSize < 2)) {
    throw new ValueError('QuantConfig.groupSize', `must be -1 (per-channel) or an integer >= 2, got ${c.groupSize}`);
  }
  if (c.groupLayout !== 'flat' && c.groupLayout !== 'row-aligned') throw new ValueError('QuantConfig.groupLayout', `unknown '${c.groupLayout}'`);
  if (c.act !== 'per-tensor' && c.act !== 'per-token') throw new ValueError('QuantConfig.act', `unknown '${c.act}'`);
  if (c.semantics !== 'quantwm' && c.semantics !== 'paper') throw new ValueError('QuantConfig.semantics', `unknown '${c.semantics}'`);
  return c;
}

/** The weight quantizer of one Linear. The deployed weight is fakeQuantize(W', qparams) over granularity. */
export interface WeightQuant {
  readonly bits: number;
  readonly signed: boolean;
  readonly rule: ScaleRule;
  readonly convention: ConventionName;
  readonly granularity: Granularity;
  /** one (s, z) per group of groupLayout(weight.shape, granularity) */
  readonly qparams: QParams;
}

/** The input-activation quantizer of one Linear. */
export interface ActQuant {
  readonly bits: number;
  readonly signed: boolean;
  readonly granularity: 'per-tensor' | 'per-token';
  readonly rule: ScaleRule;
  readonly convention: ConventionName;
  /** how static parameters are found during calibration */
  readonly observer: 'minmax' | 'omse' | 'percentile';
  /** static per-tensor: set by calibration, null before; per-token: always null (dynamic) */
  readonly qparams: QParams | null;
}

/** An equivalent transform a method applied, with the numbers needed to redo it by hand. */
export type Transform =
  | {
      readonly kind: 'smooth';
      /** who chose the scales */
      readonly by: 'smoothquant' | 'awq' | 'omniquant-let';
      /**
       * where the inverse scale went: a LayerNorm name, the Linear whose output rows were divided,
       * or `gelu(<fc1 name>)` for AWQ's ScaledActivation (the MLP multiplies GELU's output by fr(1/s))
       */
      readonly prev: string;
      /** per input channel j: W'[:, j] = W[:, j] s_j */
      readonly scales: Float32Array;
      /** OmniQuant shift δ (LN.b' = (LN.b - δ)/s, b' = b + W δ), when used */
      readonly shifts?: Float32Array;
      readonly alpha?: number;
      /** AWQ: the chosen grid ratio and the loss of every ratio tried */
      readonly ratio?: number;
      readonly losses?: readonly number[];
    }
  | {
      readonly kind: 'clip';
      readonly by: 'awq';
      /** per (row, clip group): W clamped to [-m, m] */
      readonly maxVal: Float32Array;
      readonly groupSize: number;
      /** error of the chosen clip and of no clipping, per (row, clip group) */
      readonly error: Float64Array;
      readonly errorNoClip: Float64Array;
    }
  | {
      readonly kind: 'lwc';
      readonly by: 'omniquant';
      /** per group: max' = sigmoid(up) max, min' = sigmoid(low) min */
      readonly up: Float32Array;
      readonly low: Float32Array;
    }
  | {
      readonly kind: 'gptq';
      readonly perm: Int32Array | null;
      readonly lossPerColumn: Float64Array;
      readonly damp: number;
      readonly blockSize: number;
      /** ||X Wᵀ - X Ŵᵀ||² / N on the calibration inputs, with RTN (same grid) and with GPTQ */
      readonly errorRtn: number;
      readonly errorGptq: number;
      readonly seconds: number;
    };

/** What a weight search measured (OMSE): per group ratio, error, error at r = 1. */
export interface SearchAudit {
  readonly kind: 'omse';
  readonly ratio: Float32Array;
  readonly error: Float64Array;
  readonly errorAtOne: Float64Array;
}

export interface LayerPlan {
  readonly name: string;
  readonly module: ModuleName;
  readonly block: number;
  readonly role: QuantTarget['role'];
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** null = float weights (wbits 16) */
  readonly weight: WeightQuant | null;
  /** null = float input (abits 16) */
  readonly act: ActQuant | null;
  readonly transforms: readonly Transform[];
  readonly search?: SearchAudit;
  /** free-form notes a method leaves for the audit trail (e.g. QuantWM's LET key miss) */
  readonly notes?: readonly string[];
}

export interface QuantPlan {
  readonly format: 'quantwm-plan';
  readonly version: 1;
  readonly method: MethodName;
  readonly semantics: Semantics;
  readonly config: QuantConfig;
  readonly layers: readonly LayerPlan[];
}

/** A method's output: the plan and the transformed float parameters it refers to. */
export interface MethodResult {
  readonly plan: QuantPlan;
  /** per quantized Linear: W' and b' after equivalent transforms (identity for RTN) */
  readonly weights: ReadonlyMap<string, LinearParams>;
  /** transformed LayerNorm parameters by norm name (SmoothQuant, AWQ, OmniQuant) */
  readonly norms: ReadonlyMap<string, NormParams>;
  /**
   * AWQ's ScaledActivation (paper semantics, GELU -> fc2): per Linear name, s (in_features); the
   * model feeds that Linear gelu(h) · fr(1/s) instead of gelu(h). Absent: no activation scales.
   */
  readonly actScales?: ReadonlyMap<string, Tensor<'f32'>>;
}

// ---------------------------------------------------------------------------------------------
// Helpers the methods share

/** The targets the config selects, each checked. @throws ValueError for a name in `layers` that no target has */
export function selectTargets(where: string, targets: readonly QuantTarget[], cfg: QuantConfig): QuantTarget[] {
  for (const t of targets) checkTarget(where, t);
  const names = new Set(targets.map((t) => t.name));
  if (names.size !== targets.length) throw new ValueError(where, 'two targets share a name');
  if (cfg.layers === null) return targets.slice();
  for (const n of cfg.layers) if (!names.has(n)) throw new ValueError(where, `layer '${n}' is not among the targets`);
  const keep = new Set(cfg.layers);
  return targets.filter((t) => keep.has(t.name));
}

/** The bits of a module. */
export function bitsOf(cfg: QuantConfig, module: ModuleName): BitsPair {
  return module === 'encoder' ? cfg.encoder : cfg.predictor;
}

/** The weight granularity the config gives a Linear: per-channel, or groups of groupSize in the configured layout. */
export function weightGranularity(cfg: QuantConfig): Granularity {
  return cfg.groupSize === -1 ? PER_CHANNEL : { kind: 'per-group', size: cfg.groupSize, layout: cfg.groupLayout };
}

/**
 * A min-max weight quantizer: parameters from W' itself (data-free), QuantWM's RTN by default
 * ('minmax-sym', signed, 'quantwm-uniform').
 * @param w (out, in)
 */
export function minmaxWeightQuant(
  w: Tensor<'f32'>,
  bits: number,
  gran: Granularity,
  rule: ScaleRule = 'minmax-sym',
  conv: ConventionName = 'quantwm-uniform',
  signed = true,
): WeightQuant {
  const bt = bitType(bits, signed);
  const layout = groupLayout(w.shape, gran);
  const { min, max } = groupMinMax(w, layout);
  return { bits, signed, rule, convention: conv, granularity: gran, qparams: chooseQParams(min, max, bt, rule) };
}

/**
 * The activation quantizer of QuantWM (uint b, asymmetric): per-tensor static 'minmax-asym'
 * with the UniformQuantizer ('quantwm-uniform'), or per-token dynamic 'range-clamp' with
 * round(x/s) + z ('onnx'). null when abits is 16.
 */
export function quantwmActQuant(abits: number, act: 'per-tensor' | 'per-token', observer: ActQuant['observer'] = 'minmax'): ActQuant | null {
  if (isOff(abits)) return null;
  bitType(abits, false);
  return act === 'per-tensor'
    ? { bits: abits, signed: false, granularity: 'per-tensor', rule: 'minmax-asym', convention: 'quantwm-uniform', observer, qparams: null }
    : { bits: abits, signed: false, granularity: 'per-token', rule: 'range-clamp', convention: 'onnx', observer, qparams: null };
}

/** The GroupLayout of a weight quantizer over a (out, in) weight. */
export function weightLayout(wq: WeightQuant, shape: readonly number[]): GroupLayout {
  return groupLayout(shape, wq.granularity);
}

/** A one-line description, e.g. 'int4 minmax-sym per-group(128, flat) quantwm-uniform'. */
export function describeWeightQuant(wq: WeightQuant | null): string {
  if (!wq) return 'float';
  return `${bitType(wq.bits, wq.signed).name} ${wq.rule} ${granularityName(wq.granularity)} ${convention(wq.convention).name}`;
}

/** A LayerPlan skeleton for a target. */
export function layerPlanOf(t: QuantTarget, weight: WeightQuant | null, act: ActQuant | null, transforms: Transform[] = [], extra: Partial<LayerPlan> = {}): LayerPlan {
  return {
    name: t.name,
    module: t.module,
    block: t.block,
    role: t.role,
    inFeatures: t.weight.shape[1],
    outFeatures: t.weight.shape[0],
    weight,
    act,
    transforms,
    ...extra,
  };
}

export function makePlan(method: MethodName, cfg: QuantConfig, layers: LayerPlan[]): QuantPlan {
  return { format: 'quantwm-plan', version: 1, method, semantics: cfg.semantics, config: cfg, layers };
}
