/**
 * Whole-model ONNX graphs of our encoder and predictor for onnxruntime-web (bench:model only),
 * written from the model's own weights so both runtimes compute the same function:
 *
 *   encoder    Conv(k = s = patch) -> Reshape/Transpose -> Concat CLS -> + pos (interpolated once, as
 *              our Encoder does) -> blocks -> LayerNormalization -> Slice (patch tokens)
 *   predictor  (1, T·P, D) + pos -> blocks with an additive frame-causal mask -> LayerNormalization
 *   block      LN -> MatMul (+ bias) -> Reshape (1,N,3,H,dh) -> Transpose -> Gather q/k/v -> q·scale
 *              (DINOv2) or dots·scale (DINO-WM) -> Softmax -> MatMul -> Transpose/Reshape -> MatMul + bias
 *              (-> · LayerScale) -> + x; LN -> MatMul + bias -> Gelu (opset 20) -> MatMul + bias
 *              (-> · LayerScale) -> + x
 *
 * This is the graph torch.onnx.export produces for the hub ViT (Linear on 3-D input = MatMul + Add;
 * Attention = reshape/transpose/matmul/softmax), apart from the pos-embed interpolation, which is
 * a constant at a fixed input size. int8: every Linear becomes com.microsoft DynamicQuantizeMatMul
 * (what onnxruntime's quantize_dynamic graph fuses into: activations uint8 asymmetric per tensor,
 * quantized inside the op; weights int8 symmetric per output channel here), everything else f32.
 *
 * The protobuf writer is local because test/tensor/wasm/onnx-builder.ts has no list-valued
 * attributes (Transpose perm, Conv kernel_shape/strides).
 */
import type { Linear } from '../src/nn/linear.js';
import type { Block } from '../src/nn/layers.js';
import type { Encoder } from '../src/nn/encoder.js';
import type { Predictor } from '../src/nn/predictor.js';
import { ProtoWriter as PB } from '../test/support/protobuf.js';

// ---- minimal protobuf writer (field numbers from onnx/onnx.proto3) -------------------------------


const DT = { float: 1, uint8: 2, int8: 3, int64: 7 } as const;
type DType = keyof typeof DT;

interface Attr {
  i?: number;
  f?: number;
  ints?: readonly number[];
}

/** A graph under construction: unique value names, initializers, nodes. */
export class GraphBuilder {
  private nodes: PB[] = [];
  private inits: PB[] = [];
  private n = 0;
  private readonly inputs: PB[] = [];
  private readonly outputs: PB[] = [];

  fresh(base: string): string {
    return `${base}_${this.n++}`;
  }

  init(base: string, dtype: DType, dims: readonly number[], data: Float32Array | Int8Array | Uint8Array | BigInt64Array): string {
    const name = this.fresh(base);
    const t = new PB();
    for (const d of dims) t.int(1, d);
    t.int(2, DT[dtype]);
    t.str(8, name);
    t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.inits.push(t);
    return name;
  }
  f32(base: string, dims: readonly number[], data: Float32Array): string {
    return this.init(base, 'float', dims, data);
  }
  i64(base: string, values: readonly number[], scalar = false): string {
    return this.init(base, 'int64', scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  node(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, domain?: string, nOut = 1): string[] {
    const outs = Array.from({ length: nOut }, () => this.fresh(op.toLowerCase()));
    const m = new PB();
    for (const x of inputs) m.str(1, x);
    for (const x of outs) m.str(2, x);
    m.str(3, this.fresh('n'));
    m.str(4, op);
    for (const [k, a] of Object.entries(attrs)) {
      const p = new PB().str(1, k);
      if (a.ints) {
        for (const v of a.ints) p.int(8, v);
        p.int(20, 7);
      } else if (a.f !== undefined) p.f32(2, a.f).int(20, 1);
      else p.int(3, a.i as number).int(20, 2);
      m.msg(5, p);
    }
    if (domain) m.str(7, domain);
    this.nodes.push(m);
    return outs;
  }
  op(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, domain?: string): string {
    return this.node(op, inputs, attrs, domain)[0];
  }

  private valueInfo(name: string, dims: readonly number[]): PB {
    const shape = new PB();
    for (const d of dims) shape.msg(1, new PB().int(1, d));
    return new PB().str(1, name).msg(2, new PB().msg(1, new PB().int(1, DT.float).msg(2, shape)));
  }
  input(name: string, dims: readonly number[]): string {
    this.inputs.push(this.valueInfo(name, dims));
    return name;
  }
  /** Name `value` as the graph output `name` (through an Identity). */
  output(name: string, value: string, dims: readonly number[]): void {
    const m = new PB().str(1, value).str(2, name).str(3, this.fresh('n')).str(4, 'Identity');
    this.nodes.push(m);
    this.outputs.push(this.valueInfo(name, dims));
  }

  /** ModelProto bytes: IR 10, default opset 21, com.microsoft 1. */
  model(): Uint8Array {
    const g = new PB();
    for (const n of this.nodes) g.msg(1, n);
    g.str(2, 'quantwm-bench');
    for (const t of this.inits) g.msg(5, t);
    for (const v of this.inputs) g.msg(11, v);
    for (const v of this.outputs) g.msg(12, v);
    return new PB().int(1, 10).str(2, 'quantwm-bench').msg(7, g).msg(8, new PB().str(1, '').int(2, 21)).msg(8, new PB().str(1, 'com.microsoft').int(2, 1)).done();
  }
}

// ---- the model graphs --------------------------------------------------------------------------

export type OrtPrecision = 'f32' | 'int8';

/** W (out, in) row-major -> (in, out) for MatMul. */
function transpose(w: Float32Array, out: number, inF: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) t[i * out + o] = w[o * inF + i];
  return t;
}

/** x (..., in) · Wᵀ + b. int8: DynamicQuantizeMatMul with symmetric per-output-channel int8 weights. */
function linear(g: GraphBuilder, x: string, l: Linear, prec: OrtPrecision): string {
  const N = l.outFeatures;
  const K = l.inFeatures;
  const wt = transpose(l.weight.f32, N, K);
  const bias = l.bias ? g.f32(`${l.name}.b`, [N], l.bias.f32) : null;
  if (prec === 'f32') {
    const y = g.op('MatMul', [x, g.f32(`${l.name}.w`, [K, N], wt)]);
    return bias ? g.op('Add', [y, bias]) : y;
  }
  const q = new Int8Array(K * N);
  const s = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(wt[k * N + n]));
    s[n] = m > 0 ? m / 127 : 1;
  }
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) q[k * N + n] = Math.max(-127, Math.min(127, Math.round(wt[k * N + n] / s[n])));
  const inputs = [x, g.init(`${l.name}.wq`, 'int8', [K, N], q), g.f32(`${l.name}.ws`, [N], s), g.init(`${l.name}.wz`, 'int8', [N], new Int8Array(N))];
  if (bias) inputs.push(bias);
  return g.op('DynamicQuantizeMatMul', inputs, {}, 'com.microsoft');
}

/**
 * One pre-LN block on x (1, N, D): the same computation as src/nn/layers.ts Block.forward.
 * @param mask additive (N, N) f32 initializer name (0 visible, -inf hidden) or null
 */
function block(g: GraphBuilder, x: string, b: Block, N: number, D: number, eps: number, prec: OrtPrecision, mask: string | null): string {
  const H = b.attn.heads;
  const dh = b.attn.dimHead;
  const ln = (v: string, n: Block['norm1']): string => g.op('LayerNormalization', [v, g.f32(`${n.name}.g`, [D], n.weight.f32), g.f32(`${n.name}.b`, [D], n.bias.f32)], { axis: { i: -1 }, epsilon: { f: eps } });
  const qkv = linear(g, ln(x, b.norm1), b.attn.qkv, prec);
  const r = g.op('Transpose', [g.op('Reshape', [qkv, g.i64('shape', [1, N, 3, H, dh])])], { perm: { ints: [2, 0, 3, 1, 4] } }); // (3, 1, H, N, dh)
  const pick = (i: number): string => g.op('Gather', [r, g.i64('idx', [i], true)], { axis: { i: 0 } });
  const s = g.f32('scale', [], Float32Array.of(1 / Math.sqrt(dh)));
  let q = pick(0);
  if (b.attn.scaleAt === 'q') q = g.op('Mul', [q, s]);
  const kT = g.op('Transpose', [pick(1)], { perm: { ints: [0, 1, 3, 2] } });
  let dots = g.op('MatMul', [q, kT]);
  if (b.attn.scaleAt === 'dots') dots = g.op('Mul', [dots, s]);
  if (mask) dots = g.op('Add', [dots, mask]);
  const o = g.op('MatMul', [g.op('Softmax', [dots], { axis: { i: -1 } }), pick(2)]); // (1, H, N, dh)
  const merged = g.op('Reshape', [g.op('Transpose', [o], { perm: { ints: [0, 2, 1, 3] } }), g.i64('shape', [1, N, H * dh])]);
  let a = linear(g, merged, b.attn.proj, prec);
  if (b.ls1) a = g.op('Mul', [a, g.f32('ls1', [D], b.ls1.f32)]);
  x = g.op('Add', [x, a]);
  let m = linear(g, g.op('Gelu', [linear(g, ln(x, b.norm2), b.mlp.fc1, prec)]), b.mlp.fc2, prec);
  if (b.ls2) m = g.op('Mul', [m, g.f32('ls2', [D], b.ls2.f32)]);
  return g.op('Add', [x, m]);
}

/** The encoder on one image: input "x" (1, 3, S, S) -> output "Y" (1, P, D). */
export function encoderOnnx(enc: Encoder, prec: OrtPrecision): Uint8Array {
  const c = enc.c;
  const D = c.dim;
  const p = c.patchSize;
  const S = c.inputSize;
  const P = (S / p) ** 2;
  const N = 1 + P;
  const g = new GraphBuilder();
  const x = g.input('x', [1, 3, S, S]);
  const conv = g.op('Conv', [x, g.f32('pe.w', [D, 3, p, p], enc.patchEmbed.weight.f32), g.f32('pe.b', [D], (enc.patchEmbed.bias as NonNullable<Linear['bias']>).f32)], {
    kernel_shape: { ints: [p, p] },
    strides: { ints: [p, p] },
  });
  const tok = g.op('Transpose', [g.op('Reshape', [conv, g.i64('shape', [1, D, P])])], { perm: { ints: [0, 2, 1] } });
  let h = g.op('Add', [g.op('Concat', [g.f32('cls', [1, 1, D], enc.cls.f32), tok], { axis: { i: 1 } }), g.f32('pos', [1, N, D], enc.pos.f32)]);
  for (const b of enc.blocks) h = block(g, h, b, N, D, c.lnEps, prec, null);
  h = g.op('LayerNormalization', [h, g.f32('norm.g', [D], enc.norm.weight.f32), g.f32('norm.b', [D], enc.norm.bias.f32)], { axis: { i: -1 }, epsilon: { f: c.lnEps } });
  const y = g.op('Slice', [h, g.i64('starts', [1]), g.i64('ends', [N]), g.i64('axes', [1])]);
  g.output('Y', y, [1, P, D]);
  return g.model();
}

/** The predictor on T frames: input "z" (1, T·P, D) -> output "Y" (1, T·P, D). */
export function predictorOnnx(pred: Predictor, T: number, prec: OrtPrecision): Uint8Array {
  const P = pred.P;
  const D = pred.D;
  const N = T * P;
  const g = new GraphBuilder();
  const z = g.input('z', [1, N, D]);
  const mask = new Float32Array(N * N);
  const m = pred.mask(T).data as Uint8Array;
  for (let i = 0; i < N * N; i++) mask[i] = m[i] ? 0 : -Infinity;
  const maskName = g.f32('mask', [N, N], mask);
  let h = g.op('Add', [z, g.f32('pos', [1, N, D], pred.pos.f32.subarray(0, N * D))]);
  for (const b of pred.blocks) h = block(g, h, b, N, D, pred.c.lnEps, prec, maskName);
  h = g.op('LayerNormalization', [h, g.f32('norm.g', [D], pred.norm.weight.f32), g.f32('norm.b', [D], pred.norm.bias.f32)], { axis: { i: -1 }, epsilon: { f: pred.c.lnEps } });
  g.output('Y', h, [1, N, D]);
  return g.model();
}
