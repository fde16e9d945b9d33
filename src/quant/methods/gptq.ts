/**
 * GPTQ (Frantar et al. 2023, "GPTQ: Accurate Post-Training Quantization for Generative
 * Pre-trained Transformers"; reference code IST-DASLab/gptq gptq.py `fasterquant`). Not part of
 * QuantWM; the Hessian-based method users expect. Steps are keyed to Algorithm 1 and to
 * fasterquant's statements.
 *
 * Numerics: the Hessian, its Cholesky factors and the running weight updates are float64 (the
 * reference runs float32 on GPU with TF32 off); every quantized value is computed from the
 * float32 rounding of the updated weight with GPTQ's own quantizer (quant.py find_params, rules
 * 'gptq-asym' / 'gptq-sym', round(w / s) + z), so Ŵ = fr((q - z) s) is exactly what the plan's
 * fake-quant reproduces.
 *
 * Groups: with groupSize G, parameters are found on W[:, j : j+G] when column j starts a group
 * (the reference reads W, not the block copy, so in-block updates are not seen when G < block
 * size: mirrored). With act-order, groups must be static (`staticGroups`, computed on the
 * original W before the loop) so that each group stays a contiguous run of original columns.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../../tensor/errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { chooseQParam, CONVENTIONS, quantizeValue } from '../affine.js';
import { bitType } from '../bittype.js';
import { rowGroups } from '../granularity.js';
import {
  bitsOf,
  layerPlanOf,
  resolveConfig,
  selectTargets,
  type LayerPlan,
  type MethodResult,
  type QuantConfig,
  type WeightQuant,
} from '../plan.js';
import { calibInput, type CalibrationInputs, type LinearParams, type QuantTarget } from '../seam.js';
import { actFor, finish } from './common.js';

const fr = Math.fround;

export interface GptqOptions {
  readonly bits: number;
  /** -1 = one parameter set per row */
  readonly groupSize?: number;
  /** 'gptq-sym' (z = 2^(b-1)) instead of 'gptq-asym' */
  readonly symmetric?: boolean;
  /** process columns in decreasing diag(H) order (desc_act) */
  readonly actOrder?: boolean;
  /** group parameters from the original W before the loop (required with actOrder and groups) */
  readonly staticGroups?: boolean;
  /** lazy-batch block size B, default 128 */
  readonly blockSize?: number;
  /** damping λ = percDamp · mean(diag H), default 0.01 */
  readonly percDamp?: number;
}

export interface GptqResult {
  /** (out, in) unsigned codes in [0, 2^b - 1], original column order */
  readonly q: Uint8Array;
  /** (out, nGroups) float32 scales, row-aligned groups along in */
  readonly scales: Float32Array;
  /** (out, nGroups) integer zero points */
  readonly zeros: Float32Array;
  /** column order used (null without act-order) */
  readonly perm: Int32Array | null;
  /** Σ_rows (w - q)² / d² / 2 per column (reference `Losses`), original column order */
  readonly lossPerColumn: Float64Array;
  readonly seconds: number;
  /** Ŵ = fr((q - z) s), (out, in) */
  readonly weightHat: Tensor<'f32'>;
  readonly groupSize: number;
}

/**
 * H = (2 / N) Σ_n x_n x_nᵀ (reference add_batch's running mean, in one pass), float64.
 * @param x (N, in)
 * @returns (in, in) row-major
 */
export function gptqHessian(x: Tensor<'f32'>): Float64Array {
  if (x.dtype !== 'f32' || x.ndim !== 2 || x.shape[0] < 1) throw new ShapeError('gptqHessian', `x must be f32 (N >= 1, in), got ${x.dtype} ${fmtShape(x.shape)}`);
  const [N, I] = x.shape;
  const X = x.f32;
  const H = new Float64Array(I * I);
  for (let n = 0; n < N; n++) {
    const row = n * I;
    for (let a = 0; a < I; a++) {
      const va = X[row + a];
      if (va === 0) continue;
      const ha = a * I;
      for (let b = a; b < I; b++) H[ha + b] += va * X[row + b];
    }
  }
  const c = 2 / N;
  for (let a = 0; a < I; a++) {
    for (let b = a; b < I; b++) {
      H[a * I + b] *= c;
      H[b * I + a] = H[a * I + b];
    }
  }
  return H;
}

/** In-place lower Cholesky factor of a symmetric positive definite (n, n) matrix. @throws ValueError when not positive definite */
function choleskyLower(A: Float64Array, n: number, what: string): void {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    if (!(d > 0)) throw new ValueError('gptq', `${what} is not positive definite at column ${j} (pivot ${d}); raise percDamp`);
    const ljj = Math.sqrt(d);
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) A[j * n + k] = 0;
  }
}

/**
 * U upper with Uᵀ U = H⁻¹: torch.cholesky_inverse(torch.linalg.cholesky(H)) then
 * torch.linalg.cholesky(·, upper=True), as fasterquant computes `Hinv`.
 */
export function inverseCholeskyUpper(H: Float64Array, n: number): Float64Array {
  if (!Number.isInteger(n) || n < 1 || H.length !== n * n) throw new ShapeError('inverseCholeskyUpper', `H has ${H.length} entries, expected ${n} x ${n}`);
  const L = H.slice();
  choleskyLower(L, n, 'H + λI');
  // L⁻¹ (lower), by forward substitution column by column
  const Li = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    Li[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += L[i * n + k] * Li[k * n + j];
      Li[i * n + j] = -s / L[i * n + i];
    }
  }
  // H⁻¹ = L⁻ᵀ L⁻¹
  const Hi = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let s = 0;
      for (let k = b; k < n; k++) s += Li[k * n + a] * Li[k * n + b];
      Hi[a * n + b] = s;
      Hi[b * n + a] = s;
    }
  }
  // upper Cholesky of H⁻¹: U = Lᵀ of its lower factor
  choleskyLower(Hi, n, 'H⁻¹');
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) U[j * n + i] = Hi[i * n + j];
  return U;
}

/** GPTQ's find_params on columns [c0, c1) of every row of W (float64 values, read as float32). */
function findParams(W: Float64Array, rows: number, cols: number, c0: number, c1: number, rule: 'gptq-asym' | 'gptq-sym', maxq: number): { s: Float32Array; z: Float32Array } {
  const s = new Float32Array(rows);
  const z = new Float32Array(rows);
  const range = { qmin: 0, qmax: maxq };
  for (let r = 0; r < rows; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = c0; c < c1; c++) {
      const v = fr(W[r * cols + c]);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    [s[r], z[r]] = chooseQParam(lo, hi, range, rule);
  }
  return { s, z };
}

/**
 * GPTQ on one Linear.
 * @param w (out, in) float weight
 * @param x (N, in) calibration inputs of this Linear
 */
export function gptqLayer(w: Tensor<'f32'>, x: Tensor<'f32'>, opts: GptqOptions): GptqResult {
  const where = 'gptqLayer';
  if (w.dtype !== 'f32' || x.dtype !== 'f32') throw new DTypeError(where, 'w and x must be f32');
  if (w.ndim !== 2 || x.ndim !== 2 || w.shape[1] !== x.shape[1]) {
    throw new ShapeError(where, `weight ${fmtShape(w.shape)} and inputs ${fmtShape(x.shape)} must be (out, in) and (N, in)`);
  }
  const t0 = performance.now();
  const [rows, cols] = w.shape;
  const bt = bitType(opts.bits, false);
  const maxq = bt.qmax;
  const rule = opts.symmetric ? 'gptq-sym' : 'gptq-asym';
  const G = opts.groupSize ?? -1;
  const B = opts.blockSize ?? 128;
  const percDamp = opts.percDamp ?? 0.01;
  const actOrder = opts.actOrder ?? false;
  const staticGroups = opts.staticGroups ?? false;
  if (G !== -1 && (!Number.isInteger(G) || G < 1)) throw new ValueError(where, `groupSize must be -1 or a positive integer, got ${G}`);
  if (!Number.isInteger(B) || B < 1) throw new ValueError(where, `blockSize must be a positive integer, got ${B}`);
  if (!(percDamp >= 0) || !Number.isFinite(percDamp)) throw new ValueError(where, `percDamp must be a finite number >= 0, got ${percDamp}`);
  if (actOrder && G !== -1 && !staticGroups) {
    throw new ValueError(where, 'act-order with groups needs staticGroups: dynamic groups would not be contiguous in the original column order');
  }
  for (let i = 0; i < x.size; i++) if (!Number.isFinite(x.f32[i])) throw new ValueError(where, `calibration input [${i}] is ${x.f32[i]}`);

  // Algorithm 1 input: H = 2 X Xᵀ (here averaged over N tokens, as add_batch does)
  const H = gptqHessian(x);
  const W = Float64Array.from(w.f32);

  // dead = diag(H) == 0: H[d, d] = 1, W[:, d] = 0
  for (let d = 0; d < cols; d++) {
    if (H[d * cols + d] === 0) {
      H[d * cols + d] = 1;
      for (let r = 0; r < rows; r++) W[r * cols + d] = 0;
    }
  }

  const nGroups = G === -1 ? 1 : Math.ceil(cols / G);
  const Gsz = G === -1 ? cols : G;
  const scales = new Float32Array(rows * nGroups);
  const zeros = new Float32Array(rows * nGroups);
  const setGroup = (g: number, p: { s: Float32Array; z: Float32Array }) => {
    for (let r = 0; r < rows; r++) {
      scales[r * nGroups + g] = p.s[r];
      zeros[r * nGroups + g] = p.z[r];
    }
  };
  // static_groups: parameters of every group from the original (dead-zeroed) W, before permuting
  if (G !== -1 && staticGroups) for (let g = 0; g < nGroups; g++) setGroup(g, findParams(W, rows, cols, g * G, Math.min(cols, (g + 1) * G), rule, maxq));
  if (G === -1) setGroup(0, findParams(W, rows, cols, 0, cols, rule, maxq));

  // act_order: perm = argsort(diag(H), descending); permute W's columns and both axes of H
  let perm: Int32Array | null = null;
  let Wp = W;
  let Hp = H;
  if (actOrder) {
    const idx = Array.from({ length: cols }, (_, i) => i);
    idx.sort((a, b) => H[b * cols + b] - H[a * cols + a] || a - b);
    perm = Int32Array.from(idx);
    Wp = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) Wp[r * cols + c] = W[r * cols + perm[c]];
    Hp = new Float64Array(cols * cols);
    for (let a = 0; a < cols; a++) for (let b = 0; b < cols; b++) Hp[a * cols + b] = H[perm[a] * cols + perm[b]];
  }

  // damping: H += percdamp · mean(diag H) · I
  let mean = 0;
  for (let d = 0; d < cols; d++) mean += Hp[d * cols + d];
  const damp = (percDamp * mean) / cols;
  for (let d = 0; d < cols; d++) Hp[d * cols + d] += damp;

  // Hinv = cholesky(cholesky_inverse(cholesky(H)), upper=True)
  const U = inverseCholeskyUpper(Hp, cols);

  const Qcodes = new Uint8Array(rows * cols); // in processing (permuted) order
  const Qhat = new Float32Array(rows * cols);
  const losses = new Float64Array(cols);
  const conv = CONVENTIONS.onnx; // quant.py: clamp(round(x / scale) + zero, 0, maxq)
  let cur: { s: Float32Array; z: Float32Array } = { s: new Float32Array(rows), z: new Float32Array(rows) };
  if (G === -1) cur = { s: scales.slice(), z: zeros.slice() };

  const W1 = new Float64Array(rows * B);
  const Err1 = new Float64Array(rows * B);
  for (let i1 = 0; i1 < cols; i1 += B) {
    const i2 = Math.min(i1 + B, cols);
    const count = i2 - i1;
    // W1 = W[:, i1:i2].clone()
    for (let r = 0; r < rows; r++) for (let i = 0; i < count; i++) W1[r * B + i] = Wp[r * cols + i1 + i];
    for (let i = 0; i < count; i++) {
      const col = i1 + i;
      const d = U[col * cols + col];
      if (G !== -1) {
        if (staticGroups) {
          const g = Math.floor((perm ? perm[col] : col) / G);
          for (let r = 0; r < rows; r++) {
            cur.s[r] = scales[r * nGroups + g];
            cur.z[r] = zeros[r * nGroups + g];
          }
        } else if (col % G === 0) {
          // find_params(W[:, col : col + G]): from W, which holds the lazy updates of earlier blocks only
          cur = findParams(Wp, rows, cols, col, Math.min(cols, col + G), rule, maxq);
          setGroup(col / G, cur);
        }
      }
      // q = quantize(w); Losses1[:, i] = (w - q)² / d²; err1 = (w - q) / d
      let loss = 0;
      for (let r = 0; r < rows; r++) {
        const wv = W1[r * B + i];
        const s = cur.s[r];
        const z = cur.z[r];
        const q = quantizeValue(fr(wv), s, 0, z, 0, maxq, conv);
        const qv = fr((q - z) * s);
        Qcodes[r * cols + col] = q;
        Qhat[r * cols + col] = qv;
        const e = wv - qv;
        loss += (e * e) / (d * d);
        Err1[r * B + i] = e / d;
      }
      losses[col] = loss / 2;
      // W1[:, i:] -= err1 ⊗ Hinv1[i, i:]
      for (let r = 0; r < rows; r++) {
        const e = Err1[r * B + i];
        if (e === 0) continue;
        for (let j = i + 1; j < count; j++) W1[r * B + j] -= e * U[col * cols + i1 + j];
      }
    }
    // lazy batch update: W[:, i2:] -= Err1 · Hinv[i1:i2, i2:]
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < count; i++) {
        const e = Err1[r * B + i];
        if (e === 0) continue;
        const urow = (i1 + i) * cols;
        for (let j = i2; j < cols; j++) Wp[r * cols + j] -= e * U[urow + j];
      }
    }
  }

  // un-permute: Q = Q[:, invperm]
  const q = new Uint8Array(rows * cols);
  const hat = new Float32Array(rows * cols);
  const lossPerColumn = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    const src = perm ? perm.indexOf(c) : c;
    lossPerColumn[c] = losses[src];
    for (let r = 0; r < rows; r++) {
      q[r * cols + c] = Qcodes[r * cols + src];
      hat[r * cols + c] = Qhat[r * cols + src];
    }
  }
  return {
    q,
    scales,
    zeros,
    perm,
    lossPerColumn,
    seconds: (performance.now() - t0) / 1000,
    weightHat: new Tensor('f32', [rows, cols], hat),
    groupSize: Gsz,
  };
}

/**
 * Round-to-nearest with GPTQ's quantizer on the same grid (find_params per row or group, no
 * error feedback): the baseline GPTQ is measured against.
 * @param w (out, in)
 */
export function gptqRtn(w: Tensor<'f32'>, bits: number, groupSize: number, symmetric = false): Tensor<'f32'> {
  if (w.dtype !== 'f32' || w.ndim !== 2) throw new ShapeError('gptqRtn', `w must be f32 (out, in), got ${w.dtype} ${fmtShape(w.shape)}`);
  if (groupSize !== -1 && (!Number.isInteger(groupSize) || groupSize < 1)) throw new ValueError('gptqRtn', `groupSize must be -1 or a positive integer, got ${groupSize}`);
  const [rows, cols] = w.shape;
  const maxq = bitType(bits, false).qmax;
  const rule = symmetric ? 'gptq-sym' : 'gptq-asym';
  const W = Float64Array.from(w.f32);
  const G = groupSize === -1 ? cols : groupSize;
  const out = new Float32Array(rows * cols);
  for (let c0 = 0; c0 < cols; c0 += G) {
    const c1 = Math.min(cols, c0 + G);
    const p = findParams(W, rows, cols, c0, c1, rule, maxq);
    for (let r = 0; r < rows; r++) {
      for (let c = c0; c < c1; c++) {
        const qv = quantizeValue(w.f32[r * cols + c], p.s[r], 0, p.z[r], 0, maxq, CONVENTIONS.onnx);
        out[r * cols + c] = fr((qv - p.z[r]) * p.s[r]);
      }
    }
  }
  return new Tensor('f32', [rows, cols], out);
}

/** ||X Wᵀ - X Ŵᵀ||_F² / N in float64. @param x (N, in) @param w,wHat (out, in) */
export function layerOutputError(x: Tensor<'f32'>, w: Tensor<'f32'>, wHat: Tensor<'f32'>): number {
  if (x.ndim !== 2 || w.ndim !== 2 || w.shape[1] !== x.shape[1] || wHat.shape[0] !== w.shape[0] || wHat.shape[1] !== w.shape[1]) {
    throw new ShapeError('layerOutputError', `inputs ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)}, quantized ${fmtShape(wHat.shape)} do not fit`);
  }
  const [N, I] = x.shape;
  const O = w.shape[0];
  const X = x.f32;
  const D = new Float64Array(O * I);
  for (let i = 0; i < D.length; i++) D[i] = w.f32[i] - wHat.f32[i];
  let e = 0;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let k = 0; k < I; k++) s += X[n * I + k] * D[o * I + k];
      e += s * s;
    }
  }
  return e / N;
}

export interface GptqMethodOptions extends Omit<GptqOptions, 'bits' | 'groupSize'> {
  readonly config?: Partial<QuantConfig>;
  /** float-model inputs (N, in) of each Linear: GPTQ's Hessians, and static activation calibration */
  readonly calib: CalibrationInputs;
}

/**
 * GPTQ over targets: bits and group size from the config; groups are row-aligned (GPTQ's
 * W[:, j:j+G]); QuantWM's flat layout is accepted only where it coincides (in % G == 0).
 */
export function gptq(targets: readonly QuantTarget[], opts: GptqMethodOptions): MethodResult {
  const where = 'gptq';
  const cfg = resolveConfig(opts.config);
  const sel = selectTargets(where, targets, cfg);
  const layers: LayerPlan[] = [];
  const weights = new Map<string, LinearParams>();
  for (const t of sel) {
    const { wbits } = bitsOf(cfg, t.module);
    const x = calibInput(where, opts.calib, t);
    if (wbits >= 16) {
      layers.push(layerPlanOf(t, null, actFor(cfg, t)));
      weights.set(t.name, { weight: t.weight, bias: t.bias });
      continue;
    }
    const inF = t.weight.shape[1];
    if (cfg.groupSize !== -1 && cfg.groupLayout === 'flat' && inF % cfg.groupSize !== 0) {
      throw new ValueError(where, `${t.name}: GPTQ groups are row-aligned; flat groups of ${cfg.groupSize} straddle rows of ${inF} (use groupLayout 'row-aligned')`);
    }
    const res = gptqLayer(t.weight, x, { ...opts, bits: wbits, groupSize: cfg.groupSize });
    const gran = rowGroups(res.groupSize);
    const wq: WeightQuant = {
      bits: wbits,
      signed: false,
      rule: opts.symmetric ? 'gptq-sym' : 'gptq-asym',
      convention: 'onnx',
      granularity: gran,
      qparams: { scale: res.scales, zeroPoint: res.zeros },
    };
    const errorRtn = layerOutputError(x, t.weight, gptqRtn(t.weight, wbits, res.groupSize, opts.symmetric));
    const errorGptq = layerOutputError(x, t.weight, res.weightHat);
    layers.push(
      layerPlanOf(t, wq, actFor(cfg, t), [
        {
          kind: 'gptq',
          perm: res.perm,
          lossPerColumn: res.lossPerColumn,
          damp: opts.percDamp ?? 0.01,
          blockSize: opts.blockSize ?? 128,
          errorRtn,
          errorGptq,
          seconds: res.seconds,
        },
      ]),
    );
    weights.set(t.name, { weight: res.weightHat, bias: t.bias });
  }
  return finish('gptq', cfg, layers, weights, new Map(), opts.calib);
}
