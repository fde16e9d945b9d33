/**
 * The model-agnostic seam the PTQ methods are written against. A model (src/nn) describes each
 * Linear it lets quant touch as a QuantTarget; methods never look at class names or module
 * trees, only at these records. Field names follow nn's NamedLinear (`module`, `block`, `role`).
 */
import { ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import type { Tensor } from '../tensor/tensor.js';

export type ModuleName = 'encoder' | 'predictor';
export type LinearRole = 'qkv' | 'proj' | 'fc1' | 'fc2';

/** `--semantics quantwm` reproduces QuantWM's code as it is; `paper` does the method as published. */
export type Semantics = 'quantwm' | 'paper';

/** LayerNorm affine parameters, each (D). */
export interface NormParams {
  readonly weight: Tensor<'f32'>;
  readonly bias: Tensor<'f32'>;
}

/** A LayerNorm feeding Linears (the pair SmoothQuant, AWQ and OmniQuant's LET fold scales into). */
export interface NormRef extends NormParams {
  readonly name: string;
}

/** One Linear of the model, y = x Wᵀ + b. */
export interface QuantTarget {
  readonly name: string;
  /** (out, in) */
  readonly weight: Tensor<'f32'>;
  /** (out) or null */
  readonly bias: Tensor<'f32'> | null;
  readonly module: ModuleName;
  readonly block: number;
  readonly role: LinearRole;
  /** the LayerNorm whose output is this Linear's input (qkv: norm1, fc1: norm2) */
  readonly prevNorm?: NormRef;
}

/** Calibration inputs per target name: (N, in), rows are tokens of the float model. */
export type CalibrationInputs = ReadonlyMap<string, Tensor<'f32'>>;

/** Float weights after a method's equivalent transforms (what the quantizers then see). */
export interface LinearParams {
  readonly weight: Tensor<'f32'>;
  readonly bias: Tensor<'f32'> | null;
}

/**
 * Check a target's shapes: weight (out, in), bias (out), prevNorm (in). Called first by every method.
 * @throws ShapeError naming the target and the shapes
 */
export function checkTarget(where: string, t: QuantTarget): void {
  const w = t.weight;
  if (w.dtype !== 'f32' || w.ndim !== 2) throw new ShapeError(where, `${t.name}: weight must be f32 (out, in), got ${w.dtype} ${fmtShape(w.shape)}`);
  const [out, inF] = w.shape;
  if (t.bias && (t.bias.ndim !== 1 || t.bias.shape[0] !== out)) {
    throw new ShapeError(where, `${t.name}: bias ${fmtShape(t.bias.shape)} does not match weight ${fmtShape(w.shape)}`);
  }
  if (t.prevNorm) {
    const n = t.prevNorm;
    if (n.weight.shape.length !== 1 || n.weight.shape[0] !== inF || n.bias.shape.length !== 1 || n.bias.shape[0] !== inF) {
      throw new ShapeError(
        where,
        `${t.name}: norm ${n.name} has weight ${fmtShape(n.weight.shape)} and bias ${fmtShape(n.bias.shape)}, expected (${inF}) = in_features`,
      );
    }
  }
  if (!['qkv', 'proj', 'fc1', 'fc2'].includes(t.role)) throw new ValueError(where, `${t.name}: unknown role '${t.role}'`);
  if (t.module !== 'encoder' && t.module !== 'predictor') throw new ValueError(where, `${t.name}: unknown module '${t.module}'`);
}

/**
 * A target's calibration input, checked: (N, in) f32 with N >= 1.
 * @throws ValueError when missing, ShapeError when the width is not in_features
 */
export function calibInput(where: string, calib: CalibrationInputs, t: QuantTarget): Tensor<'f32'> {
  const x = calib.get(t.name);
  if (!x) throw new ValueError(where, `no calibration input for ${t.name}`);
  const inF = t.weight.shape[1];
  if (x.dtype !== 'f32' || x.ndim !== 2 || x.shape[1] !== inF || x.shape[0] < 1) {
    throw new ShapeError(where, `${t.name}: calibration input must be f32 (N, ${inF}), got ${x.dtype} ${fmtShape(x.shape)}`);
  }
  return x as Tensor<'f32'>;
}

/** Targets grouped by the LayerNorm that feeds them (each group shares one smoothing scale). */
export function normGroups(targets: readonly QuantTarget[]): Map<string, { norm: NormRef; linears: QuantTarget[] }> {
  const out = new Map<string, { norm: NormRef; linears: QuantTarget[] }>();
  for (const t of targets) {
    if (!t.prevNorm) continue;
    const g = out.get(t.prevNorm.name);
    if (g) g.linears.push(t);
    else out.set(t.prevNorm.name, { norm: t.prevNorm, linears: [t] });
  }
  return out;
}
