/**
 * OmniQuant (Shao et al. 2024; code OpenGVLab/OmniQuant) and QuantWM's adaptation
 * (plan_quant_omniquant.py, quant_utils/omni_quantize/*).
 *
 * Learnable equivalent transformation (LET), per LN -> Linears pair (LN1 -> qkv, LN2 -> fc1):
 *   LN.w' = LN.w / s,  LN.b' = (LN.b - δ) / s,  W' = W diag(s),  b' = b + W δ
 *   init: s = SmoothQuant's formula with α = 0.5 on the act max, δ = (max + min) / 2 per channel
 * Learnable weight clipping (LWC), per weight group, factors init 4 (sigmoid(4) ≈ 0.982):
 *   max' = sigmoid(up) max,  min' = sigmoid(low) min
 *   s = clamp((max' - min') / (2^b - 1), 1e-5, 1e4),  z = round(clamp(-min' / s, ±1e4))
 *   Ŵ = (clamp(round(W/s) + z, 0, 2^b - 1) - z) s          ('range-clamp', unsigned, 'onnx')
 * Training (paper, epochs > 0): block by block, loss = MSE(float block(x), quantized block(x)),
 *   round through a straight-through estimator, AdamW (wd 0) with LET lr and LWC lr, activations
 *   fake-quantized dynamically per token (asymmetric) as OmniQuant's act quantizer does.
 *
 * `semantics: 'quantwm'` reproduces plan_quant_omniquant.py as coded: omni_epochs = 0, so
 *   nothing is trained; LET scales are initialised from the SmoothQuant act-max file and the
 *   shifts stay 0 (act_shifts = None); the predictor's LET lookup uses the old key names
 *   (`...layers.{i}.0.to_qkv`, `...layers.{i}.1.net.1`) that the act-max file does not have, so
 *   every predictor LET is a miss (scale 1: identity); LWC is switched on only after the RTN
 *   weight scales were computed, so it has no effect. Net: SmoothQuant(α = 0.5) on the encoder
 *   + QuantWM's RTN everywhere.
 * `semantics: 'paper'`: LET with shifts on every pair (encoder and predictor), LWC quantizer,
 *   and `epochs` of training when > 0 (needs `blocks`, the model's block forward on autograd
 *   Vars). Not done here: the v -> out-projection LET (it only reshapes the proj input's
 *   distribution, which QuantWM quantizes per tensor; left out) and the q/k LET (QuantWM never
 *   quantizes the attention matmuls, so it cannot change any quantization error).
 */
import * as ag from '../../tensor/autograd/index.js';
import { ValueError } from '../../tensor/errors.js';
import { sigmoidScalar } from '../../tensor/ops/activation.js';
import { Tensor, full } from '../../tensor/tensor.js';
import { CLIP_MAX, CLIP_MIN, chooseQParams, groupMinMax, type QParams } from '../affine.js';
import { bitType } from '../bittype.js';
import { groupLayout, type Granularity } from '../granularity.js';
import {
  bitsOf,
  layerPlanOf,
  minmaxWeightQuant,
  resolveConfig,
  selectTargets,
  weightGranularity,
  type LayerPlan,
  type MethodResult,
  type QuantConfig,
  type Transform,
  type WeightQuant,
} from '../plan.js';
import { roundHalfEven } from '../round.js';
import { calibInput, normGroups, type CalibrationInputs, type LinearParams, type NormParams, type NormRef, type QuantTarget } from '../seam.js';
import { actFor, finish } from './common.js';
import { smoothScales } from './smoothquant.js';
import { check2d, columnAbsMax, scaleColumns, shiftBias, smoothNorm, transformInputs, weightColumnAbsMax } from './transforms.js';

const fr = Math.fround;

/** LWC's initial factor: sigmoid(4) ≈ 0.982 of the group max/min. */
export const LWC_INIT = 4;

/** What the trainer routes through OmniQuant's parameters. */
export interface OmniContext {
  /** LayerNorm `name` (with its eps) using the current LET-transformed affine parameters */
  norm(name: string, x: ag.Var, eps: number): ag.Var;
  /** Linear `name` on x (..., in): LET-transformed, LWC-fake-quantized weight, fake-quantized input */
  linear(name: string, x: ag.Var): ag.Var;
}

/** One block of the model for training, on autograd Vars. */
export interface OmniBlock {
  /** the block's Linears (selected targets with these names are trained here) */
  readonly names: readonly string[];
  /** block input, batches along axis 0 (e.g. (B, T, D)) */
  readonly input: Tensor<'f32'>;
  /** the block forward; every LET LayerNorm and every Linear of `names` must go through ctx */
  forward(x: ag.Var, ctx: OmniContext): ag.Var;
}

export interface OmniQuantOptions {
  readonly config?: Partial<QuantConfig>;
  /** float-model inputs (N, in) per Linear: act max / shift init and activation calibration */
  readonly calib?: CalibrationInputs;
  /** precomputed per-channel max |x| per Linear name (QuantWM's SmoothQuant act-max file) */
  readonly actMax?: ReadonlyMap<string, Float32Array>;
  readonly alpha?: number;
  /** training epochs ('paper' only; QuantWM's omni_epochs is 0) */
  readonly epochs?: number;
  /** learning rates (published: LET 5e-3, LWC 1e-2; QuantWM's args: 1e-4 both) */
  readonly letLr?: number;
  readonly lwcLr?: number;
  /** samples per step along the block input's axis 0 (default 1, as published) */
  readonly batchSize?: number;
  readonly blocks?: readonly OmniBlock[];
}

interface LetState {
  norm: NormRef;
  linears: QuantTarget[];
  scale: Float32Array;
  shift: Float32Array;
}

/** δ_j = (max_j + min_j) / 2 over the calibration tokens (OmniQuant's act_shifts, without the EMA). @param x (N, in) */
export function channelShift(x: Tensor<'f32'>): Float32Array {
  check2d('channelShift', 'x', x);
  const [N, I] = x.shape;
  const lo = new Float32Array(I).fill(Infinity);
  const hi = new Float32Array(I).fill(-Infinity);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < I; j++) {
      const v = x.f32[n * I + j];
      if (v < lo[j]) lo[j] = v;
      if (v > hi[j]) hi[j] = v;
    }
  }
  return Float32Array.from(lo, (l, j) => fr(fr(hi[j] + l) / 2));
}

/** LWC parameters of W over `gran`: 'range-clamp' on (sigmoid(low) min, sigmoid(up) max). @param w (out, in) */
export function lwcQParams(w: Tensor<'f32'>, gran: Granularity, bits: number, up: Float32Array, low: Float32Array): QParams {
  const layout = groupLayout(w.shape, gran);
  const { min, max } = groupMinMax(w, layout);
  if (up.length !== layout.numGroups || low.length !== layout.numGroups) {
    throw new ValueError('lwcQParams', `${layout.numGroups} groups but ${up.length} / ${low.length} factors`);
  }
  const lo = Float32Array.from(min, (m, g) => fr(fr(sigmoidScalar(low[g])) * m));
  const hi = Float32Array.from(max, (m, g) => fr(fr(sigmoidScalar(up[g])) * m));
  return chooseQParams(lo, hi, bitType(bits, false), 'range-clamp');
}

/** Groups of a weight as a (nGroups, G) reshape: per-channel, or groups that tile it row-major. */
function groupRows(w: readonly number[], gran: Granularity): [number, number] {
  const [O, I] = w;
  if (gran.kind === 'per-channel' && gran.axis === 0) return [O, I];
  if (gran.kind === 'per-group' && (gran.layout === 'flat' ? (O * I) % gran.size === 0 : I % gran.size === 0)) return [(O * I) / gran.size, gran.size];
  throw new ValueError('omniquant', `LWC training supports per-channel weights or groups that tile the weight row-major, not ${JSON.stringify(gran)}`);
}

export function omniQuant(targets: readonly QuantTarget[], opts: OmniQuantOptions = {}): MethodResult {
  const where = 'omniQuant';
  const cfg = resolveConfig(opts.config);
  const sem = cfg.semantics;
  const sel = selectTargets(where, targets, cfg);
  const alpha = opts.alpha ?? 0.5;
  const epochs = opts.epochs ?? 0;
  if (!Number.isInteger(epochs) || epochs < 0) throw new ValueError(where, `epochs must be a non-negative integer, got ${epochs}`);
  if (sem === 'quantwm' && epochs !== 0) {
    throw new ValueError(where, "semantics 'quantwm' reproduces QuantWM's omni_epochs = 0; use semantics 'paper' to train");
  }
  if (epochs > 0 && !opts.blocks) throw new ValueError(where, 'training (epochs > 0) needs `blocks`: the block forward on autograd Vars');
  const gran = weightGranularity(cfg);
  const calib = opts.calib;
  const notes = new Map<string, string[]>();
  const note = (name: string, s: string) => notes.set(name, [...(notes.get(name) ?? []), s]);

  // ---- LET initialisation --------------------------------------------------------------------
  const lets = new Map<string, LetState>();
  for (const [normName, { norm, linears }] of normGroups(sel.filter((t) => t.role === 'qkv' || t.role === 'fc1'))) {
    const D = norm.weight.size;
    if (sem === 'quantwm' && linears[0].module === 'predictor') {
      for (const l of linears) note(l.name, 'LET init MISS (QuantWM looks up the old predictor key names): scale 1, shift 0');
      continue;
    }
    let act: Float32Array | undefined;
    let shift: Float32Array = new Float32Array(D);
    for (const l of linears) {
      const x = calib?.get(l.name) ? calibInput(where, calib, l) : undefined;
      const a = opts.actMax?.get(l.name) ?? (x ? columnAbsMax(x) : undefined);
      if (a) act = act ? Float32Array.from(act, (v, j) => Math.max(v, a[j])) : a.slice();
      if (sem === 'paper' && x) shift = channelShift(x);
    }
    if (!act) {
      for (const l of linears) note(l.name, 'LET init MISS (no act max): scale 1');
      continue;
    }
    // smooth_and_quant_*: smooth scales clamped to >= 1e-5 (smoothScales already floors there)
    const scale = smoothScales(act, weightColumnAbsMax(linears.map((l) => l.weight)), alpha);
    lets.set(normName, { norm, linears, scale, shift });
  }
  const letOf = new Map<string, LetState>();
  for (const st of lets.values()) for (const l of st.linears) letOf.set(l.name, st);

  // ---- LWC factors ---------------------------------------------------------------------------
  const lwc = new Map<string, { up: Float32Array; low: Float32Array }>();
  if (sem === 'paper') {
    for (const t of sel) {
      if (bitsOf(cfg, t.module).wbits >= 16) continue;
      const n = groupLayout(t.weight.shape, gran).numGroups;
      lwc.set(t.name, { up: new Float32Array(n).fill(LWC_INIT), low: new Float32Array(n).fill(LWC_INIT) });
    }
  }

  // ---- training ------------------------------------------------------------------------------
  const lossHistory: number[] = [];
  if (epochs > 0) trainOmni(opts, cfg, sel, lets, letOf, lwc, gran, lossHistory);

  // ---- fold and plan -------------------------------------------------------------------------
  const weights = new Map<string, LinearParams>();
  const norms = new Map<string, NormParams>();
  const actInputs = new Map<string, Tensor<'f32'>>();
  for (const st of lets.values()) norms.set(st.norm.name, smoothNorm(st.norm, st.scale, sem === 'paper' ? st.shift : undefined));
  const layers: LayerPlan[] = sel.map((t) => {
    const st = letOf.get(t.name);
    let w = t.weight;
    let b = t.bias;
    const tr: Transform[] = [];
    if (st) {
      if (sem === 'paper') b = shiftBias(t.weight, t.bias, st.shift);
      w = scaleColumns(t.weight, st.scale);
      tr.push({ kind: 'smooth', by: 'omniquant-let', prev: st.norm.name, scales: st.scale, alpha, ...(sem === 'paper' ? { shifts: st.shift } : {}) });
    }
    weights.set(t.name, { weight: w, bias: b });
    const x = calib?.get(t.name);
    if (x) actInputs.set(t.name, st ? transformInputs(x, st.scale, sem === 'paper' ? st.shift : undefined) : x);
    const { wbits } = bitsOf(cfg, t.module);
    let wq: WeightQuant | null = null;
    if (wbits < 16) {
      const f = lwc.get(t.name);
      if (sem === 'paper' && f) {
        wq = { bits: wbits, signed: false, rule: 'range-clamp', convention: 'onnx', granularity: gran, qparams: lwcQParams(w, gran, wbits, f.up, f.low) };
        tr.push({ kind: 'lwc', by: 'omniquant', up: f.up, low: f.low });
      } else {
        wq = minmaxWeightQuant(w, wbits, gran); // QuantWM: the QLinear's RTN on the LET-folded weight
      }
    }
    const extra: Partial<LayerPlan> = notes.has(t.name) ? { notes: notes.get(t.name) } : {};
    if (lossHistory.length) (extra as { notes?: string[] }).notes = [...(extra.notes ?? []), `training loss per epoch: ${lossHistory.join(', ')}`];
    return layerPlanOf(t, wq, actFor(cfg, t), tr, extra);
  });
  return finish('omniquant', cfg, layers, weights, norms, calib ? actInputs : null);
}

/** Dynamic per-token asymmetric fake quant with STE (OmniQuant's activation quantizer). @param x (..., C) */
function actFakeQuantVar(x: ag.Var, bits: number): ag.Var {
  const qmax = 2 ** bits - 1;
  const shape = x.shape;
  const C = shape[shape.length - 1];
  const x2 = ag.reshape(x, [-1, C]);
  const xmax = ag.max(x2, 1, true);
  const xmin = ag.min(x2, 1, true);
  const s = ag.clamp(ag.div(ag.sub(xmax, xmin), ag.constant(full([1], qmax))), CLIP_MIN, CLIP_MAX);
  const z = ag.constant(zeroPoints(xmin.value, s.value));
  const q = ag.clamp(ag.add(ag.ste(ag.div(x2, s), roundHalfEven), z), 0, qmax);
  return ag.reshape(ag.mul(ag.sub(q, z), s), shape);
}

/** z = round(clamp(-min / s, ±1e4)) per row, as a constant (torch.round has no gradient). */
function zeroPoints(min: Tensor<'f32'>, s: Tensor<'f32'>): Tensor<'f32'> {
  return new Tensor('f32', min.shape, Float32Array.from(min.f32, (m, i) => roundHalfEven(Math.min(Math.max(fr(-m / s.f32[i]), -CLIP_MAX), CLIP_MAX))));
}

/** LWC fake quant of W (O, I) on Vars: groups (nG, G), STE round. */
function lwcFakeQuantVar(w: ag.Var, groups: [number, number], bits: number, up: ag.Var, low: ag.Var): ag.Var {
  const qmax = 2 ** bits - 1;
  const wg = ag.reshape(w, groups);
  const xmax = ag.mul(ag.sigmoid(up), ag.max(wg, 1, true));
  const xmin = ag.mul(ag.sigmoid(low), ag.min(wg, 1, true));
  const s = ag.clamp(ag.div(ag.sub(xmax, xmin), ag.constant(full([1], qmax))), CLIP_MIN, CLIP_MAX);
  const z = ag.constant(zeroPoints(xmin.value, s.value));
  const q = ag.clamp(ag.add(ag.ste(ag.div(wg, s), roundHalfEven), z), 0, qmax);
  return ag.reshape(ag.mul(ag.sub(q, z), s), w.shape);
}

function trainOmni(
  opts: OmniQuantOptions,
  cfg: QuantConfig,
  sel: QuantTarget[],
  lets: Map<string, LetState>,
  letOf: Map<string, LetState>,
  lwc: Map<string, { up: Float32Array; low: Float32Array }>,
  gran: Granularity,
  lossHistory: number[],
): void {
  const where = 'omniQuant.train';
  const byName = new Map(sel.map((t) => [t.name, t]));
  const epochs = opts.epochs ?? 0;
  const batch = opts.batchSize ?? 1;
  let total = 0;
  let count = 0;
  const perEpoch = new Float64Array(epochs);
  for (const block of opts.blocks ?? []) {
    const names = block.names.filter((n) => byName.has(n));
    if (names.length === 0) continue;
    const blockLets = [...new Set(names.map((n) => letOf.get(n)).filter((s): s is LetState => !!s))];
    const sv = new Map(blockLets.map((st) => [st, { s: ag.param(new Tensor('f32', [st.scale.length], st.scale.slice())), d: ag.param(new Tensor('f32', [st.shift.length], st.shift.slice())) }]));
    const lv = new Map(
      names.filter((n) => lwc.has(n)).map((n) => {
        const f = lwc.get(n) as { up: Float32Array; low: Float32Array };
        return [n, { up: ag.param(new Tensor('f32', [f.up.length, 1], f.up.slice())), low: ag.param(new Tensor('f32', [f.low.length, 1], f.low.slice())) }];
      }),
    );
    const letParams = [...sv.values()].flatMap((p) => [p.s, p.d]);
    const lwcParams = [...lv.values()].flatMap((p) => [p.up, p.low]);
    const optLet = letParams.length ? new ag.AdamW(letParams, { lr: opts.letLr ?? 5e-3, weightDecay: 0 }) : null;
    const optLwc = lwcParams.length ? new ag.AdamW(lwcParams, { lr: opts.lwcLr ?? 1e-2, weightDecay: 0 }) : null;
    const normOf = new Map(blockLets.map((st) => [st.norm.name, st]));

    const floatCtx: OmniContext = {
      norm: (name, x, eps) => {
        const st = normOf.get(name);
        const n = st?.norm ?? sel.find((t) => t.prevNorm?.name === name)?.prevNorm;
        if (!n) throw new ValueError(where, `block routes unknown LayerNorm '${name}'`);
        return ag.layerNorm(x, ag.constant(n.weight), ag.constant(n.bias), eps);
      },
      linear: (name, x) => {
        const t = byName.get(name);
        if (!t) throw new ValueError(where, `block routes unknown Linear '${name}'`);
        return ag.linear(x, ag.constant(t.weight), t.bias ? ag.constant(t.bias) : null);
      },
    };
    const quantCtx: OmniContext = {
      norm: (name, x, eps) => {
        const st = normOf.get(name);
        if (!st) return floatCtx.norm(name, x, eps);
        const p = sv.get(st) as { s: ag.Var; d: ag.Var };
        const s = ag.clamp(p.s, CLIP_MIN, Infinity);
        return ag.layerNorm(x, ag.div(ag.constant(st.norm.weight), s), ag.div(ag.sub(ag.constant(st.norm.bias), p.d), s), eps);
      },
      linear: (name, x) => {
        const t = byName.get(name);
        if (!t) throw new ValueError(where, `block routes unknown Linear '${name}'`);
        const st = letOf.get(name);
        let w: ag.Var = ag.constant(t.weight);
        let b: ag.Var | null = t.bias ? ag.constant(t.bias) : null;
        if (st && sv.has(st)) {
          const p = sv.get(st) as { s: ag.Var; d: ag.Var };
          const I = t.weight.shape[1];
          const wd = ag.reshape(ag.linear(ag.reshape(p.d, [1, I]), w, null), [t.weight.shape[0]]); // W δ
          b = b ? ag.add(b, wd) : wd;
          w = ag.mul(w, ag.reshape(ag.clamp(p.s, CLIP_MIN, Infinity), [1, I]));
        }
        const { wbits, abits } = bitsOf(cfg, t.module);
        const f = lv.get(name);
        if (wbits < 16 && f) w = lwcFakeQuantVar(w, groupRows(t.weight.shape, gran), wbits, f.up, f.low);
        const xq = abits < 16 ? actFakeQuantVar(x, abits) : x;
        return ag.linear(xq, w, b);
      },
    };

    const N = block.input.shape[0];
    for (let e = 0; e < epochs; e++) {
      for (let b0 = 0; b0 < N; b0 += batch) {
        const xb = block.input.slice0(b0, Math.min(N, b0 + batch));
        const target = ag.noGrad(() => block.forward(ag.constant(xb), floatCtx)).value;
        for (const p of [...letParams, ...lwcParams]) p.grad = null;
        const out = block.forward(ag.constant(xb), quantCtx);
        const loss = ag.mseLoss(out, ag.constant(target));
        const lv0 = loss.item();
        if (!Number.isFinite(lv0)) throw new ValueError(where, `loss is ${lv0} at epoch ${e}`);
        ag.backward(loss);
        optLet?.step();
        optLwc?.step();
        perEpoch[e] += lv0;
        total += lv0;
        count++;
      }
    }
    // write the trained values back
    for (const [st, p] of sv) {
      st.scale = Float32Array.from(p.s.value.f32, (v) => Math.max(v, CLIP_MIN));
      st.shift = p.d.value.f32.slice();
    }
    for (const [n, p] of lv) lwc.set(n, { up: p.up.value.f32.slice(), low: p.low.value.f32.slice() });
  }
  if (count === 0) throw new ValueError(where, 'no block routes any selected Linear: nothing was trained');
  for (let e = 0; e < epochs; e++) lossHistory.push(perEpoch[e]);
  void total;
  void lets;
}
