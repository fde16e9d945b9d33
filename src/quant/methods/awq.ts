/**
 * AWQ (Lin et al. 2024, "AWQ: Activation-aware Weight Quantization"; code mit-han-lab/llm-awq
 * auto_scale.py / auto_clip.py / quantizer.py) and QuantWM's adaptation (plan_quant_awq.py,
 * quant_utils/awq/*). Per block:
 *
 * 1. auto_scale, per (prev op -> Linears) pair, on the cached Linear input x (N, in):
 *      x̄_j = mean_n |x_nj|                                          (get_act_scale: mean, not max)
 *      for r in {0, 1/20, ..., 19/20}:                               (20 points; 1.0 never tried)
 *        s = max(x̄^r, 1e-4);  s = s / sqrt(max(s) min(s))
 *        W_r = PQ(W s) / s                                           (PQ: 'awq-asym', groups)
 *        loss_r = mean((inspect(x, W) - inspect(x, W_r))²)
 *      apply the argmin: prev.w /= s (prev.b /= s), W *= s, cached x /= s
 * 2. auto_clip, every Linear (none of QuantWM's names match the q/k skip list):
 *      clip group = G if G divides in, else the whole row; tokens = x[0 :: max(1, N // 512)]
 *      for i in 0..9: m = max0 (1 - i/20);  err_i = mean_tokens((x_g · PQ(clamp(W, -m, m))_g - x_g · W_g)²)
 *      W = clamp(W, -m*, m*) per (row, clip group)
 *
 * `semantics: 'quantwm'` reproduces plan_quant_awq.py as coded:
 *   - one pair per block: LN2 -> fc1, inspected through the MLP (the caller's `inspect`; for the
 *     predictor QuantWM inspects `ff`, which begins with its own LayerNorm, so the LN is applied
 *     twice: the caller's closure reproduces that when ctx.semantics is 'quantwm');
 *   - the model was already in fake-quant mode, so every weight the search runs (reference and
 *     candidates) goes through QuantWM's RTN quantizer with the scales computed from the
 *     ORIGINAL weights ("stale"): effective W = RTN_stale(W_r);
 *   - the deployed weight is RTN_stale(clip(W s)): the scales are not recomputed after AWQ;
 *   - activation quantizers (if any) keep the parameters calibrated before AWQ.
 * `semantics: 'paper'` is AWQ as published: pairs LN1 -> qkv, v -> proj (scale_fc_fc),
 *   LN2 -> fc1 (inspected through `inspect` when given, else the Linear itself) and GELU -> fc2
 *   (llm-awq's BLOOM/GELU models: scale_gelu_fc + ScaledActivation; GELU is not scale-equivariant,
 *   so 1/s cannot be folded into fc1: fc2's columns are scaled by s and the MLP divides GELU's
 *   output by s as llm-awq does; the scales are returned as `actScales` for the model to install), float
 *   reference, fresh 'awq-asym' parameters on the transformed weights.
 *
 * Losses are accumulated in float64; torch sums float32. Powers: float64 pow rounded once.
 */
import { backend } from '../../tensor/backend.js';
import { ShapeError, ValueError, fmtShape } from '../../tensor/errors.js';
import { pow } from '../../tensor/math.js';
import { Tensor } from '../../tensor/tensor.js';
import { CONVENTIONS, fakeQuantizeMinMax, type QuantizerSpec } from '../affine.js';
import { bitType } from '../bittype.js';
import { PER_CHANNEL, flatGroups, type Granularity } from '../granularity.js';
import { fakeQuantWeight, linearF32 } from '../execute.js';
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
import { calibInput, type CalibrationInputs, type LinearParams, type NormParams, type QuantTarget, type Semantics } from '../seam.js';
import { actFor, finish } from './common.js';
import { check2d, divideColumns, divideRows, scaleColumns, smoothNorm, transformInputs } from './transforms.js';

const fr = Math.fround;

/**
 * module2inspect: the output of the block part downstream of a scaled pair, given the pair's
 * input x (N, in) and candidate weights for the pair's Linears (same order as the pair).
 */
export type InspectFn = (x: Tensor<'f32'>, weights: readonly Tensor<'f32'>[], ctx: { readonly semantics: Semantics }) => Tensor<'f32'>;

export interface AwqOptions {
  readonly config?: Partial<QuantConfig>;
  /** float-model inputs (N, in) of every Linear */
  readonly calib: CalibrationInputs;
  /** module2inspect closures keyed by the first Linear of a pair (fc1, qkv) */
  readonly inspect?: ReadonlyMap<string, InspectFn>;
  /** run auto_clip (default true) */
  readonly clip?: boolean;
  /** run auto_scale (default true) */
  readonly scale?: boolean;
}

interface Pair {
  /** prev op: a LayerNorm, an earlier Linear's output rows, or GELU (ScaledActivation) */
  readonly kind: 'norm' | 'fc' | 'act';
  readonly prevName: string;
  readonly linears: QuantTarget[];
  /** for 'fc': the earlier Linear whose output rows [r0, r1) feed the pair */
  readonly prevLinear?: QuantTarget;
  readonly rows?: [number, number];
}

/** The AWQ pseudo-quantizer: asymmetric uint-b with zero point ('awq-asym'), over `gran`; identity at 16 bits. */
function pseudoQuant(bits: number, gran: Granularity): (w: Tensor<'f32'>) => Tensor<'f32'> {
  if (bits >= 16) return (w) => w;
  const spec: QuantizerSpec = { range: bitType(bits, false), rule: 'awq-asym', convention: CONVENTIONS.onnx };
  return (w) => fakeQuantizeMinMax(w, gran, spec).xq;
}

/** x̄_j = fr(mean_n |x_nj|) (float64 sum). @param x (N, in) */
export function meanAbs(x: Tensor<'f32'>): Float32Array {
  check2d('meanAbs', 'x', x);
  const [N, I] = x.shape;
  const acc = new Float64Array(I);
  const X = x.f32;
  for (let n = 0; n < N; n++) for (let j = 0; j < I; j++) acc[j] += Math.abs(X[n * I + j]);
  return Float32Array.from(acc, (v) => v / N);
}

/** The AWQ scale for grid ratio r: s = max(x̄^r, 1e-4), then s / sqrt(max(s) min(s)). */
export function awqScales(xMean: Float32Array, ratio: number): Float32Array {
  if (xMean.length === 0) throw new ValueError('awqScales', 'no channels');
  if (!(ratio >= 0 && ratio <= 1)) throw new ValueError('awqScales', `ratio must be in [0, 1], got ${ratio}`);
  const r = fr(ratio);
  const s = Float32Array.from(xMean, (v) => Math.max(fr(pow(v, r)), fr(1e-4)));
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of s) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const norm = fr(Math.sqrt(fr(hi * lo)));
  return Float32Array.from(s, (v) => fr(v / norm));
}

function mse(a: Tensor<'f32'>, b: Tensor<'f32'>): number {
  let e = 0;
  for (let i = 0; i < a.size; i++) {
    const d = a.f32[i] - b.f32[i];
    e += d * d;
  }
  return e / a.size;
}

/** The Linears' own outputs side by side: the default module2inspect. */
function selfInspect(pair: Pair): InspectFn {
  return (x, ws) => {
    const outs = ws.map((w, i) => linearF32(x, w, pair.linears[i].bias));
    if (outs.length === 1) return outs[0];
    const N = x.shape[0];
    const widths = outs.map((o) => o.shape[1]);
    const total = widths.reduce((a, b) => a + b, 0);
    const y = new Float32Array(N * total);
    for (let n = 0; n < N; n++) {
      let off = 0;
      for (const [k, o] of outs.entries()) {
        y.set(o.f32.subarray(n * widths[k], (n + 1) * widths[k]), n * total + off);
        off += widths[k];
      }
    }
    return new Tensor('f32', [N, total], y);
  };
}

export interface AwqScaleSearch {
  readonly scales: Float32Array;
  readonly ratio: number;
  readonly losses: number[];
}

/**
 * auto_scale's grid search for one pair.
 * @param x (N, in) the pair's input
 * @param ws the pair's current weights (out_i, in)
 * @param effective what the model runs for a weight (identity, or QuantWM's stale RTN per Linear)
 */
export function awqSearchScale(
  x: Tensor<'f32'>,
  ws: readonly Tensor<'f32'>[],
  pq: (w: Tensor<'f32'>) => Tensor<'f32'>,
  effective: readonly ((w: Tensor<'f32'>) => Tensor<'f32'>)[],
  inspect: InspectFn,
  semantics: Semantics,
  nGrid = 20,
): AwqScaleSearch {
  check2d('awqSearchScale', 'x', x);
  for (const w of ws) {
    check2d('awqSearchScale', 'weight', w);
    if (w.shape[1] !== x.shape[1]) throw new ShapeError('awqSearchScale', `weight ${fmtShape(w.shape)} does not take inputs ${fmtShape(x.shape)}`);
  }
  const ctx = { semantics };
  const orgOut = inspect(x, ws.map((w, i) => effective[i](w)), ctx);
  const xMean = meanAbs(x);
  let best = Infinity;
  let bestRatio = -1;
  let bestScales: Float32Array | null = null;
  const losses: number[] = [];
  for (let i = 0; i < nGrid; i++) {
    const ratio = i / nGrid;
    const s = awqScales(xMean, ratio);
    const cand = ws.map((w, k) => effective[k](divideColumns(pq(scaleColumns(w, s)), s)));
    const loss = mse(orgOut, inspect(x, cand, ctx));
    losses.push(loss);
    if (loss < best) {
      best = loss;
      bestRatio = ratio;
      bestScales = s;
    }
  }
  if (bestRatio < 0 || !bestScales) throw new ValueError('awqSearchScale', `no finite loss on the grid (losses ${losses.join(', ')})`);
  return { scales: bestScales, ratio: bestRatio, losses };
}

export interface AwqClipSearch {
  /** (rows, nClipGroups) chosen max */
  readonly maxVal: Float32Array;
  readonly groupSize: number;
  readonly error: Float64Array;
  readonly errorNoClip: Float64Array;
}

/**
 * auto_clip for one Linear: per (row, clip group) the shrink m = max0 (1 - i/20), i < 10, that
 * minimizes the mean over sampled tokens of the squared partial-dot error.
 * @param w (out, in) current weight
 * @param x (N, in) its input
 */
export function awqSearchClip(w: Tensor<'f32'>, x: Tensor<'f32'>, groupSize: number, pq: (w: Tensor<'f32'>) => Tensor<'f32'>, nGrid = 20, maxShrink = 0.5, nSampleTokens = 512): AwqClipSearch {
  check2d('awqSearchClip', 'w', w);
  check2d('awqSearchClip', 'x', x);
  if (w.shape[1] !== x.shape[1]) throw new ShapeError('awqSearchClip', `weight ${fmtShape(w.shape)} does not take inputs ${fmtShape(x.shape)}`);
  const [O, I] = w.shape;
  const G = groupSize > 0 && I % groupSize === 0 ? groupSize : I;
  const nG = I / G;
  const [N] = x.shape;
  const step = Math.max(1, Math.floor(N / nSampleTokens));
  const T = Math.ceil(N / step);
  // token sample, split per clip group: Xg (T, G)
  const Xg: Float32Array[] = [];
  for (let g = 0; g < nG; g++) {
    const a = new Float32Array(T * G);
    for (let t = 0; t < T; t++) a.set(x.f32.subarray(t * step * I + g * G, t * step * I + (g + 1) * G), t * G);
    Xg.push(a);
  }
  const W = w.f32;
  const orgMax = new Float32Array(O * nG);
  for (let o = 0; o < O; o++) {
    for (let g = 0; g < nG; g++) {
      let m = 0;
      for (let k = g * G; k < (g + 1) * G; k++) m = Math.max(m, Math.abs(W[o * I + k]));
      orgMax[o * nG + g] = m;
    }
  }
  const best = new Float64Array(O * nG).fill(1e9);
  const bestMax = orgMax.slice();
  const errorNoClip = new Float64Array(O * nG);
  const gemm = backend().gemmF32;
  const Dg = new Float32Array(O * G);
  const Y = new Float32Array(T * O);
  for (let i = 0; i < Math.floor(maxShrink * nGrid); i++) {
    const f = fr(1 - i / nGrid);
    const mv = Float32Array.from(orgMax, (m) => fr(m * f));
    const clipped = new Float32Array(O * I);
    for (let o = 0; o < O; o++) {
      for (let g = 0; g < nG; g++) {
        const m = mv[o * nG + g];
        for (let k = g * G; k < (g + 1) * G; k++) {
          const v = W[o * I + k];
          clipped[o * I + k] = v < -m ? -m : v > m ? m : v;
        }
      }
    }
    const Q = pq(new Tensor('f32', [O, I], clipped)).f32;
    for (let g = 0; g < nG; g++) {
      for (let o = 0; o < O; o++) for (let k = 0; k < G; k++) Dg[o * G + k] = fr(Q[o * I + g * G + k] - W[o * I + g * G + k]);
      gemm(T, O, G, Xg[g], Dg, true, Y); // (T, O): x_g · (Q - W)_gᵀ
      for (let o = 0; o < O; o++) {
        let e = 0;
        for (let t = 0; t < T; t++) e += Y[t * O + o] * Y[t * O + o];
        e /= T;
        const idx = o * nG + g;
        if (i === 0) errorNoClip[idx] = e;
        if (e < best[idx]) {
          best[idx] = e;
          bestMax[idx] = mv[idx];
        }
      }
    }
  }
  return { maxVal: bestMax, groupSize: G, error: best, errorNoClip };
}

/** W clamped to [-m, m] per (row, clip group). */
export function applyClip(w: Tensor<'f32'>, clip: AwqClipSearch): Tensor<'f32'> {
  const [O, I] = w.shape;
  const G = clip.groupSize;
  const nG = I / G;
  const out = w.f32.slice();
  for (let o = 0; o < O; o++) {
    for (let k = 0; k < I; k++) {
      const m = clip.maxVal[o * nG + Math.floor(k / G)];
      const v = out[o * I + k];
      out[o * I + k] = v < -m ? -m : v > m ? m : v;
    }
  }
  return new Tensor('f32', [O, I], out);
}

function blockKey(t: QuantTarget): string {
  return `${t.module}/${t.block}`;
}

export function awq(targets: readonly QuantTarget[], opts: AwqOptions): MethodResult {
  const where = 'awq';
  const cfg = resolveConfig(opts.config);
  const sem = cfg.semantics;
  const sel = selectTargets(where, targets, cfg);
  const gran = weightGranularity(cfg);
  const pqGran: Granularity = cfg.groupSize === -1 ? PER_CHANNEL : cfg.groupLayout === 'flat' ? flatGroups(cfg.groupSize) : gran;

  const cur = new Map<string, LinearParams>();
  const inputs = new Map<string, Tensor<'f32'>>();
  const norms = new Map<string, NormParams>();
  const transforms = new Map<string, Transform[]>();
  const actScales = new Map<string, Tensor<'f32'>>();
  const stale = new Map<string, WeightQuant | null>();
  for (const t of sel) {
    cur.set(t.name, { weight: t.weight, bias: t.bias });
    inputs.set(t.name, calibInput(where, opts.calib, t));
    transforms.set(t.name, []);
    const { wbits } = bitsOf(cfg, t.module);
    // QuantWM: RTN parameters from the ORIGINAL weights, computed during the calibration run
    stale.set(t.name, wbits >= 16 ? null : minmaxWeightQuant(t.weight, wbits, gran));
  }
  const effectiveOf = (t: QuantTarget) => {
    const q = stale.get(t.name);
    return sem === 'quantwm' && q ? (w: Tensor<'f32'>) => fakeQuantWeight(w, q) : (w: Tensor<'f32'>) => w;
  };

  const blocks = new Map<string, QuantTarget[]>();
  for (const t of sel) {
    const k = blockKey(t);
    blocks.set(k, [...(blocks.get(k) ?? []), t]);
  }

  for (const ts of blocks.values()) {
    const wbits = bitsOf(cfg, ts[0].module).wbits;
    const pq = pseudoQuant(wbits, pqGran);
    const role = (r: QuantTarget['role']) => ts.find((t) => t.role === r);
    const pairs: Pair[] = [];
    const fc1 = role('fc1');
    const qkv = role('qkv');
    const proj = role('proj');
    if (sem === 'paper') {
      if (qkv?.prevNorm) pairs.push({ kind: 'norm', prevName: qkv.prevNorm.name, linears: [qkv] });
      if (qkv && proj && qkv.weight.shape[0] === 3 * proj.weight.shape[1]) {
        const D = proj.weight.shape[1];
        pairs.push({ kind: 'fc', prevName: qkv.name, linears: [proj], prevLinear: qkv, rows: [2 * D, 3 * D] });
      }
    }
    if (fc1?.prevNorm) pairs.push({ kind: 'norm', prevName: fc1.prevNorm.name, linears: [fc1] });
    const fc2 = role('fc2');
    if (sem === 'paper' && fc2) {
      const fc1Name = targets.find((t) => t.module === fc2.module && t.block === fc2.block && t.role === 'fc1')?.name ?? 'fc1';
      pairs.push({ kind: 'act', prevName: `gelu(${fc1Name})`, linears: [fc2] });
    }

    if (opts.scale !== false && wbits < 16) {
      for (const pair of pairs) {
        const first = pair.linears[0];
        const inspect = (pair.kind === 'norm' ? opts.inspect?.get(first.name) : undefined) ?? selfInspect(pair);
        const x = inputs.get(first.name) as Tensor<'f32'>;
        const ws = pair.linears.map((l) => (cur.get(l.name) as LinearParams).weight);
        const res = awqSearchScale(x, ws, pq, pair.linears.map(effectiveOf), inspect, sem);
        const s = res.scales;
        if (pair.kind === 'norm') {
          const nrm = norms.get(pair.prevName) ?? (first.prevNorm as NormParams);
          norms.set(pair.prevName, smoothNorm(nrm, s));
        } else if (pair.kind === 'act') {
          actScales.set(first.name, new Tensor('f32', [s.length], s));
        } else {
          const prev = pair.prevLinear as QuantTarget;
          const p = cur.get(prev.name) as LinearParams;
          const rows = pair.rows as [number, number];
          let bias = p.bias;
          if (bias) {
            const b = bias.f32.slice();
            for (let r = rows[0]; r < rows[1]; r++) b[r] = fr(b[r] / s[r - rows[0]]);
            bias = new Tensor('f32', [b.length], b);
          }
          cur.set(prev.name, { weight: divideRows(p.weight, rows, s), bias });
        }
        for (const l of pair.linears) {
          const p = cur.get(l.name) as LinearParams;
          cur.set(l.name, { weight: scaleColumns(p.weight, s), bias: p.bias });
          const xl = inputs.get(l.name) as Tensor<'f32'>;
          inputs.set(l.name, pair.kind === 'act' ? divideColumns(xl, s) : transformInputs(xl, s));
          (transforms.get(l.name) as Transform[]).push({ kind: 'smooth', by: 'awq', prev: pair.prevName, scales: s, ratio: res.ratio, losses: res.losses });
        }
      }
    }

    if (opts.clip !== false && wbits < 16) {
      for (const t of ts) {
        const p = cur.get(t.name) as LinearParams;
        const c = awqSearchClip(p.weight, inputs.get(t.name) as Tensor<'f32'>, cfg.groupSize, pq);
        cur.set(t.name, { weight: applyClip(p.weight, c), bias: p.bias });
        (transforms.get(t.name) as Transform[]).push({ kind: 'clip', by: 'awq', maxVal: c.maxVal, groupSize: c.groupSize, error: c.error, errorNoClip: c.errorNoClip });
      }
    }
  }

  const layers: LayerPlan[] = sel.map((t) => {
    const { wbits } = bitsOf(cfg, t.module);
    const w = (cur.get(t.name) as LinearParams).weight;
    const wq = wbits >= 16 ? null : sem === 'quantwm' ? (stale.get(t.name) as WeightQuant) : minmaxWeightQuant(w, wbits, pqGran, 'awq-asym', 'onnx', false);
    return layerPlanOf(t, wq, actFor(cfg, t), transforms.get(t.name) as Transform[]);
  });
  // QuantWM calibrated its activation quantizers before AWQ changed the LayerNorms: stale inputs.
  const actInputs = sem === 'quantwm' ? opts.calib : inputs;
  const result = finish('awq', cfg, layers, cur, norms, actInputs);
  return actScales.size ? { ...result, actScales } : result;
}
