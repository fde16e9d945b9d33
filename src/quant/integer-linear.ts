/**
 * Phase 2, real integers: a plan's Linear on the int8 / int4 kernels of src/tensor/wasm.
 *
 * | path               | when                                                                 | kernel            |
 * |--------------------|----------------------------------------------------------------------|-------------------|
 * | 'w8a8-int8-gemm'   | weights <= 8 bits with one scale per output row; input quantized     | gemmI8            |
 * | 'w4a8-int4-gemm'   | weights <= 4 bits in even groups along rows (see below); input quantized | gemmW4A8      |
 * | 'w4a16-int4-gemm'  | same weights; input float                                            | gemmW4A16         |
 * | 'dequant-f32'      | anything else (8-bit groups, odd groups, zero points outside the     |                   |
 * |                    | kernels' code ranges, float weights)                                 | Ŵ in f32 GEMM     |
 *
 * "Groups along rows" are row-aligned groups, one group per row, or QuantWM's flat groups
 * (W.reshape(-1, G)): those straddle rows when in % G != 0, and are re-expressed exactly as
 * row-aligned sub-groups of gcd(in, G) that inherit their parent's (s, z) (flatAsRowGroups in
 * ./granularity.ts; e.g. in 404, G 128 -> sub-groups of 4). The kernels need the sub-group even.
 *
 * Codes come from the plan's own quantizers (quantize() of ./affine.ts), so the integer and the
 * fake-quant paths see the same integers q and the same (s, z). What may differ, exactly:
 *   fake-quant:  y = fr(Σ_k fr(x̂_k ŵ_k)) k ascending in float32, x̂ = fr((qa - za) sa), ŵ = fr((qw - zw) sw)
 *   int8 GEMM:   c = Σ (qa - za)(qw - zw) exact;  y = fr(fr(c) fr(sa sw))
 *   int4 W4A8:   c_g exact per group;  y = fr(fr(Σ_g fr(fr(c_g) s_g)) sa), groups ascending
 *   then both:   y = fr(y + b)
 * so W8A8/W4A8 differ from fake-quant only by float32 reassociation and the placement of the
 * scale products: |y_int - y_fq| <= (2 γ_K + 7u) Σ_k |x̂_k ŵ_k| + 2u (|y| + |b|) (u = 2^-24,
 * test/quant/integer-linear.test.ts). W4A16 dequantizes ŵ = fr(s wq) and accumulates k
 * ascending in one float32 accumulator: bit-identical to fake-quant on the reference backend.
 *
 * Quantized inputs never leave the kernel heap as codes: per-token activations go through
 * gemmI8Dynamic / gemmW4A8Dynamic (row min/max by the kernel, (s, z) from chooseQParams),
 * calibrated per-tensor ones through gemmI8Static / gemmW4A8Static (the same quant_rows kernel
 * with the plan's (s, z)); both replicate quantize() of ./affine.ts bit for bit. Without
 * WebAssembly SIMD, quantize() runs in TypeScript and the GEMM twins take the codes.
 *
 * Activation rows whose zero point lies outside the code range (QuantWM's per-token rule does
 * not clamp z, e.g. an all-positive token) go through an exact TypeScript evaluation of the
 * same epilogue (integer dot, then the kernel's float order), so the result is still the
 * integer path's.
 */
import { ValueError, ShapeError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { allocF32 } from '../tensor/fast/stage.js';
import { gemmI8, gemmI8Dynamic, gemmI8Static, packI8, type PackedI8 } from '../tensor/wasm/int8/gemm.js';
import type { DynamicQuant, StaticQuant } from '../tensor/wasm/int8/quantize.js';
import { hasSimd128 } from '../tensor/wasm/probe.js';
import type { QuantizedActivations } from '../tensor/wasm/int8/ref.js';
import { gemmW4A16, gemmW4A8, gemmW4A8Dynamic, gemmW4A8Static, packI4, type PackedI4 } from '../tensor/wasm/int4/gemm.js';
import { groupCount, type Int4Weights } from '../tensor/wasm/int4/ref.js';
import { chooseQParams, convention, groupMinMax, quantize, type QParams } from './affine.js';
import { bitType } from './bittype.js';
import { FakeQuantLinear, fakeQuantWeight } from './execute.js';
import { PER_TENSOR, PER_TOKEN, flatAsRowGroups, granularityName, groupLayout, type GroupLayout } from './granularity.js';
import { packInt4 } from './packing.js';
import type { ActQuant, LayerPlan, MethodResult } from './plan.js';
import type { LinearParams } from './seam.js';

const fr = Math.fround;

export type IntegerPath = 'w8a8-int8-gemm' | 'w4a8-int4-gemm' | 'w4a16-int4-gemm' | 'dequant-f32';

/** Is every group exactly one row of the (rows, cols) view? */
function perRow(l: GroupLayout): boolean {
  if (l.numGroups !== l.rows || l.stride !== 1) return false;
  for (let g = 0; g < l.numGroups; g++) if (l.start[g] !== g * l.cols || l.count[g] !== l.cols) return false;
  return true;
}

/** Group size G if the layout is row-aligned groups of G along each row (last group may be short), else 0. */
function rowAlignedGroup(l: GroupLayout): number {
  if (l.stride !== 1 || l.numGroups % l.rows !== 0) return 0;
  const G = l.count[0];
  const per = Math.ceil(l.cols / G);
  if (per * l.rows !== l.numGroups) return 0;
  for (let g = 0; g < l.numGroups; g++) {
    const r = Math.floor(g / per);
    const j = g % per;
    if (l.start[g] !== r * l.cols + j * G || l.count[g] !== Math.min(G, l.cols - j * G)) return 0;
  }
  return G;
}

/**
 * A weight's groups as row-aligned groups of G along each row, with one (s, z) per
 * (row, group), N·ceil(K/G) of them: what the kernels take. `flat` is set when the plan's
 * layout is QuantWM's flat groups straddling rows, re-expressed by flatAsRowGroups
 * (granularity.ts) as sub-groups of gcd(K, G) inheriting their parent's (s, z); the plan keeps
 * its own flat parameters (files and audits), this copy is derived here at load.
 * @returns null when the layout is not a set of groups along rows (per-tensor, per-column)
 */
function rowAlignedView(layout: GroupLayout, qp: QParams): { G: number; scale: Float32Array; zero: Float32Array; flat: { G: number } | null } | null {
  const K = layout.cols;
  if (perRow(layout)) return { G: K, scale: qp.scale, zero: qp.zeroPoint, flat: null };
  const G = rowAlignedGroup(layout);
  if (G > 0) return { G, scale: qp.scale, zero: qp.zeroPoint, flat: null };
  const gran = layout.granularity;
  if (gran.kind !== 'per-group' || gran.layout !== 'flat') return null;
  const { size, parent } = flatAsRowGroups(layout.rows, K, gran.size);
  const scale = new Float32Array(parent.length);
  const zero = new Float32Array(parent.length);
  for (let i = 0; i < parent.length; i++) {
    scale[i] = qp.scale[parent[i]];
    zero[i] = qp.zeroPoint[parent[i]];
  }
  return { G: size, scale, zero, flat: { G: gran.size } };
}

/**
 * A per-token activation quantizer for the fused kernels: the kernel takes each row's min/max,
 * `choose` turns them into (s, z) with the plan's rule (chooseQParams, the one home of the
 * formula), and the kernel's codes replicate quantizeValue for the plan's convention.
 */
function dynamicQuant(act: ActQuant): DynamicQuant {
  const bt = bitType(act.bits, act.signed);
  const conv = convention(act.convention);
  return {
    choose: (mn, mx) => {
      const qp = chooseQParams(mn, mx, bt, act.rule);
      return { scale: qp.scale, zero: qp.zeroPoint };
    },
    formula: { scaleOp: conv.scaleOp, zeroPoint: conv.zeroPoint, qmin: bt.qmin, qmax: bt.qmax },
    unsigned: !act.signed,
    outOfRange: 'report',
  };
}

/**
 * A calibrated per-tensor activation quantizer for the fused static kernels (gemmI8Static,
 * gemmW4A8Static): the plan's own (s, z) and its convention's code formula, so the kernel's
 * codes are quantize() of ./affine.ts. null when the zero point lies outside the code range
 * (every row is then evaluated exactly).
 */
function staticQuant(act: ActQuant, where: string): StaticQuant | null {
  if (!act.qparams) throw new ValueError(where, 'static per-tensor activation quantizer is not calibrated');
  const bt = bitType(act.bits, act.signed);
  const conv = convention(act.convention);
  const z = act.qparams.zeroPoint[0];
  const [lo, hi] = act.signed ? [-128, 127] : [0, 255];
  if (z < lo || z > hi || conv.rounding !== 'half-even') return null;
  return {
    scale: act.qparams.scale[0],
    zero: z,
    formula: { scaleOp: conv.scaleOp, zeroPoint: conv.zeroPoint, qmin: bt.qmin, qmax: bt.qmax },
    unsigned: !act.signed,
  };
}

/** Quantized activations for the kernels, plus the rows whose zero point is outside the code range. */
function quantizeActivations(x: Tensor<'f32'>, act: ActQuant, where: string): { a: QuantizedActivations; qp: QParams; badRows: number[] } {
  const [M, K] = x.shape;
  const bt = bitType(act.bits, act.signed);
  const conv = convention(act.convention);
  let qp: QParams;
  let layout: GroupLayout;
  if (act.granularity === 'per-tensor') {
    if (!act.qparams) throw new ValueError(where, 'static per-tensor activation quantizer is not calibrated');
    qp = act.qparams;
    layout = groupLayout(x.shape, PER_TENSOR);
  } else {
    layout = groupLayout(x.shape, PER_TOKEN);
    const { min, max } = groupMinMax(x, layout);
    qp = chooseQParams(min, max, bt, act.rule);
  }
  const codes = quantize(x, qp, layout, bt, conv);
  const signed = act.signed;
  const [lo, hi] = signed ? [-128, 127] : [0, 255];
  const zeros = new Int32Array(qp.zeroPoint.length);
  const badRows: number[] = [];
  for (let g = 0; g < zeros.length; g++) {
    const z = qp.zeroPoint[g];
    if (z < lo || z > hi) {
      if (act.granularity === 'per-tensor') for (let m = 0; m < M; m++) badRows.push(m);
      else badRows.push(g);
      zeros[g] = 0; // placeholder: these rows are recomputed exactly
    } else zeros[g] = z;
  }
  const data = signed ? new Int8Array(codes.data as ArrayLike<number>) : new Uint8Array(codes.data as ArrayLike<number>);
  return { a: { data, M, K, scales: qp.scale, zeros }, qp, badRows };
}

/** A Linear on the integer kernels (or the documented f32 fallback), shaped like nn's LinearImpl. */
export class IntegerLinear {
  readonly kind: IntegerPath;
  /** why the layer is on the f32 fallback (null on a kernel) */
  readonly reason: string | null;
  readonly name: string;
  private readonly i8: PackedI8 | null = null;
  private readonly i4: PackedI4 | null = null;
  private readonly fallback: FakeQuantLinear | null = null;
  /** codes and parameters of the weight, for the exact rows: wq[n, k] = q - z as integers, scale per (n, group) */
  private readonly wInt: Int32Array | null = null;
  private readonly wScale: Float32Array | null = null;
  private readonly wGroup: number = 0;
  private readonly bias: Float32Array | null;
  /** the per-token quantizer handed to the fused dynamic kernels (made on first use) */
  private dyn: DynamicQuant | null = null;

  constructor(
    readonly layer: LayerPlan,
    params: LinearParams,
  ) {
    const where = `IntegerLinear(${layer.name})`;
    const w = params.weight;
    if (w.ndim !== 2 || w.shape[0] !== layer.outFeatures || w.shape[1] !== layer.inFeatures) {
      throw new ShapeError(where, `weight ${fmtShape(w.shape)} is not (${layer.outFeatures}, ${layer.inFeatures})`);
    }
    this.name = layer.name;
    this.bias = params.bias ? params.bias.f32 : null;
    const wq = layer.weight;
    const act = layer.act;
    let path: IntegerPath = 'dequant-f32';
    let reason: string | null = null;
    if (!wq) reason = 'float weights';
    else {
      const [N, K] = w.shape;
      const layout = groupLayout(w.shape, wq.granularity);
      const bt = bitType(wq.bits, wq.signed);
      const codes = quantize(w, wq.qparams, layout, bt, convention(wq.convention)).data as ArrayLike<number>;
      const view = rowAlignedView(layout, wq.qparams);
      const G = view ? view.G : 0;
      const z = view ? view.zero : wq.qparams.zeroPoint;
      const zOk4 = wq.signed ? z.every((v) => v === 0) : z.every((v) => v >= 0 && v <= 15);
      const int4Ok = wq.bits <= 4 && G > 0 && G % 2 === 0 && zOk4;
      if (act && act.bits > 8) reason = `activations of ${act.bits} bits do not fit the 8-bit kernels`;
      else if (view && int4Ok && (!act || G !== K)) {
        // 4-bit grouped weights: W4A16 for float inputs, W4A8 for quantized inputs
        const nG = groupCount(K, G);
        const w4: Int4Weights = {
          N,
          K,
          groupSize: G,
          signed: wq.signed,
          codes: packInt4(codes, wq.signed),
          scales: view.scale.slice(),
          zeros: wq.signed ? null : Uint8Array.from(z),
        };
        if (w4.scales.length !== N * nG) throw new ValueError(where, `${w4.scales.length} scales for (${N}, ${nG}) groups`);
        this.i4 = packI4(w4);
        path = act ? 'w4a8-int4-gemm' : 'w4a16-int4-gemm';
        this.wGroup = G;
      } else if (view && act && G === K) {
        // one scale per output row: the int8 GEMM (codes of any width <= 8 bits are exact int8 values)
        const shift = wq.signed ? 0 : 128; // unsigned codes q in [0, 255]: store q - 128 with zero point z - 128
        const zs = Int32Array.from(z, (v) => v - shift);
        if (zs.some((v) => v < -128 || v > 127)) reason = 'weight zero point outside int8';
        else {
          const data = Int8Array.from(codes, (q) => q - shift);
          this.i8 = packI8({ data, N, K, scales: view.scale.slice(), zeros: zs.every((v) => v === 0) ? null : zs });
          path = 'w8a8-int8-gemm';
          this.wGroup = K;
        }
      } else if (view?.flat && wq.bits <= 4 && G % 2 === 1) {
        reason = `QuantWM's flat groups of ${view.flat.G} straddle rows of ${K}: as row-aligned sub-groups of gcd(${K}, ${view.flat.G}) = ${G} they are odd, and the int4 kernels need even groups`;
      } else if (wq.bits <= 4 && view && !zOk4) reason = 'weight zero point outside the 4-bit code range';
      else if (!act) reason = 'weights without a 4-bit row-aligned layout and float inputs: Ŵ in f32 is the W8A16 path';
      else reason = `weight layout ${granularityName(wq.granularity)} not supported by the int8 kernel (one scale per row needed)`;
      if (path !== 'dequant-f32' && view) {
        // exact integer weights for rows the kernels cannot take (out-of-range activation zero points)
        const wInt = new Int32Array(N * K);
        const nG = Math.ceil(K / this.wGroup);
        for (let n = 0; n < N; n++) {
          for (let k = 0; k < K; k++) wInt[n * K + k] = (codes[n * K + k] as number) - z[n * nG + Math.floor(k / this.wGroup)];
        }
        this.wInt = wInt;
        this.wScale = view.scale.slice();
      }
    }
    if (path === 'dequant-f32') this.fallback = new FakeQuantLinear(layer, params);
    this.kind = path;
    this.reason = reason;
  }

  /** @param x (rows, in) @returns (rows, out) */
  forward(x: Tensor<'f32'>): Tensor<'f32'> {
    const where = this.name;
    if (x.ndim !== 2 || x.shape[1] !== this.layer.inFeatures) throw new ShapeError(where, `input ${fmtShape(x.shape)} is not (rows, ${this.layer.inFeatures})`);
    if (this.fallback) return this.fallback.forward(x);
    const [M] = x.shape;
    const N = this.layer.outFeatures;
    // inside an nn forward, the output lives in the kernel heap's arena (../tensor/fast/stage.ts)
    // and the kernels write it in place; x, when it lives there too, is read in place
    const out = allocF32(M * N);
    if (this.kind === 'w4a16-int4-gemm') {
      gemmW4A16(M, x.f32, this.i4 as PackedI4, this.bias, out);
      return new Tensor('f32', [M, N], out);
    }
    const act = this.layer.act as ActQuant;
    if (act.granularity === 'per-token' && hasSimd128()) {
      // dynamic per-token: row min/max, codes and GEMM in one kernel call; (s, z) still from chooseQParams
      this.dyn ??= dynamicQuant(act);
      const r = this.kind === 'w8a8-int8-gemm' ? gemmI8Dynamic(x.f32, M, this.i8 as PackedI8, this.dyn, this.bias, out) : gemmW4A8Dynamic(x.f32, M, this.i4 as PackedI4, this.dyn, this.bias, out);
      if (r.badRows.length) this.exactRows(x, r.badRows, out);
      return new Tensor('f32', [M, N], out);
    }
    if (act.granularity === 'per-tensor' && hasSimd128()) {
      // static per-tensor: codes by the quantize kernel with the calibrated (s, z), then the GEMM, in one call
      const st = staticQuant(act, where);
      if (st) {
        if (this.kind === 'w8a8-int8-gemm') gemmI8Static(x.f32, M, this.i8 as PackedI8, st, this.bias, out);
        else gemmW4A8Static(x.f32, M, this.i4 as PackedI4, st, this.bias, out);
        return new Tensor('f32', [M, N], out);
      }
    }
    const { a, badRows } = quantizeActivations(x, act, where);
    if (this.kind === 'w8a8-int8-gemm') gemmI8(a, this.i8 as PackedI8, this.bias, out);
    else gemmW4A8(a, this.i4 as PackedI4, this.bias, out);
    if (badRows.length) this.exactRows(x, badRows, out);
    return new Tensor('f32', [M, N], out);
  }

  /** The kernels' epilogue, evaluated exactly in TypeScript for rows whose zero point is out of code range. */
  private exactRows(x: Tensor<'f32'>, rows: readonly number[], out: Float32Array): void {
    const act = this.layer.act as ActQuant;
    const [, K] = x.shape;
    const N = this.layer.outFeatures;
    const W = this.wInt as Int32Array;
    const S = this.wScale as Float32Array;
    const G = this.wGroup;
    const nG = Math.ceil(K / G);
    const bt = bitType(act.bits, act.signed);
    const conv = convention(act.convention);
    for (const m of rows) {
      const row = new Tensor('f32', [1, K], x.f32.slice(m * K, (m + 1) * K));
      let qp: QParams;
      if (act.granularity === 'per-tensor') qp = act.qparams as QParams;
      else {
        const { min, max } = groupMinMax(row, groupLayout(row.shape, PER_TENSOR));
        qp = chooseQParams(min, max, bt, act.rule);
      }
      const q = quantize(row, qp, groupLayout(row.shape, PER_TENSOR), bt, conv).data as ArrayLike<number>;
      const sA = qp.scale[0];
      const zA = qp.zeroPoint[0];
      for (let n = 0; n < N; n++) {
        let y: number;
        if (this.kind === 'w8a8-int8-gemm') {
          let c = 0;
          for (let k = 0; k < K; k++) c += (q[k] - zA) * W[n * K + k];
          y = fr(fr(c) * fr(sA * S[n * nG]));
        } else {
          let acc = 0;
          for (let g = 0; g < nG; g++) {
            let c = 0;
            for (let k = g * G; k < Math.min(K, (g + 1) * G); k++) c += (q[k] - zA) * W[n * K + k];
            acc = fr(acc + fr(fr(c) * S[n * nG + g]));
          }
          y = fr(acc * sA);
        }
        out[m * N + n] = this.bias ? fr(y + this.bias[n]) : y;
      }
    }
  }

  /** The dequantized weight Ŵ the layer computes with (for audits and tests). @returns (out, in) */
  weightHat(params: LinearParams): Tensor<'f32'> {
    return this.layer.weight ? fakeQuantWeight(params.weight, this.layer.weight) : params.weight;
  }

  /** Release the packed kernel weights. */
  free(): void {
    this.i8?.free();
    this.i4?.free();
  }
}

/** Phase 2 on integers: one IntegerLinear per planned layer. */
export function installInteger(result: Pick<MethodResult, 'plan' | 'weights'>): Map<string, IntegerLinear> {
  const out = new Map<string, IntegerLinear>();
  for (const layer of result.plan.layers) {
    const p = result.weights.get(layer.name);
    if (!p) throw new ValueError('installInteger', `no weights for planned layer '${layer.name}'`);
    out.set(layer.name, new IntegerLinear(layer, p));
  }
  return out;
}
