import { ProtoWriter as Writer } from '../support/protobuf.js';
/**
 * A minimal ONNX protobuf writer for one-node oracle models (test-only). Field numbers follow
 * onnx/onnx.proto: ModelProto{1 ir_version, 7 graph, 8 opset_import}, GraphProto{1 node, 2 name,
 * 5 initializer, 11 input, 12 output}, NodeProto{1 input, 2 output, 3 name, 4 op_type,
 * 5 attribute, 7 domain}, AttributeProto{1 name, 2 f, 3 i, 20 type}, TensorProto{1 dims,
 * 2 data_type, 8 name, 9 raw_data}, ValueInfoProto{1 name, 2 type}, TypeProto{1 tensor_type
 * {1 elem_type, 2 shape{1 dim{1 dim_value}}}}.
 */

export const ONNX_DTYPE = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, uint4: 21, int4: 22 } as const;
export type OnnxDType = keyof typeof ONNX_DTYPE;


export interface ValueSpec {
  name: string;
  dtype: OnnxDType;
  shape: number[];
}

export interface InitSpec extends ValueSpec {
  /** little-endian raw bytes (packed nibbles for 4-bit types) */
  raw: Uint8Array;
}

export type AttrValue = { i: number } | { f: number };

export interface NodeSpec {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

function valueInfo(v: ValueSpec): Writer {
  const shape = new Writer();
  for (const d of v.shape) shape.msg(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, ONNX_DTYPE[v.dtype]).msg(2, shape);
  return new Writer().str(1, v.name).msg(2, new Writer().msg(1, tensorType));
}

function tensorProto(t: InitSpec): Writer {
  const w = new Writer();
  for (const d of t.shape) w.int(1, d);
  return w.int(2, ONNX_DTYPE[t.dtype]).str(8, t.name).bytes(9, t.raw);
}

/** Bytes of a ModelProto holding a single node. */
export function oneNodeModel(opts: {
  node: NodeSpec;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers?: InitSpec[];
  opset: number;
  irVersion?: number;
  extraOpsets?: { domain: string; version: number }[];
}): Uint8Array {
  const node = new Writer();
  for (const i of opts.node.inputs) node.str(1, i);
  for (const o of opts.node.outputs) node.str(2, o);
  node.str(3, 'n0').str(4, opts.node.op);
  for (const [name, v] of Object.entries(opts.node.attrs ?? {})) {
    const a = new Writer().str(1, name);
    if ('i' in v) {
      if (v.i < 0) throw new Error('negative int attribute not supported');
      a.int(3, v.i).int(20, 2);
    } else a.f32(2, v.f).int(20, 1);
    node.msg(5, a);
  }
  if (opts.node.domain) node.str(7, opts.node.domain);
  const graph = new Writer().msg(1, node).str(2, 'g');
  for (const t of opts.initializers ?? []) graph.msg(5, tensorProto(t));
  for (const v of opts.inputs) graph.msg(11, valueInfo(v));
  for (const v of opts.outputs) graph.msg(12, valueInfo(v));
  const model = new Writer().int(1, opts.irVersion ?? 10).msg(7, graph);
  model.msg(8, new Writer().str(1, '').int(2, opts.opset));
  for (const o of opts.extraOpsets ?? []) model.msg(8, new Writer().str(1, o.domain).int(2, o.version));
  return model.done();
}

/** Little-endian bytes of a typed array. */
export function rawBytes(a: Float32Array | Int32Array | Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}
