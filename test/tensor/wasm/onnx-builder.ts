/**
 * A minimal ONNX protobuf writer for one-node oracle models (tests and benches only).
 *
 * Writes ModelProto bytes by hand (field numbers from onnx/onnx.proto3): enough for a graph of
 * nodes with tensor initializers, typed inputs/outputs and int/float attributes. Used to build
 * MatMulInteger / MatMulNBits / MatMul models that onnxruntime-web runs as an independent oracle.
 */

import { ProtoWriter as PB } from '../../support/protobuf.js';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7 } as const;
export type OnnxDType = keyof typeof ONNX_DTYPE;


export interface OnnxTensor {
  name: string;
  dtype: OnnxDType;
  dims: readonly number[];
  /** Little-endian element bytes (raw_data). */
  data: Float32Array | Int32Array | Int8Array | Uint8Array;
}

export interface OnnxValue {
  name: string;
  dtype: OnnxDType;
  dims: readonly number[];
}

export interface OnnxNode {
  op: string;
  domain?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  ints?: Record<string, number>;
  floats?: Record<string, number>;
}

export interface OnnxGraph {
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValue[];
  outputs: readonly OnnxValue[];
  /** Opset of the default domain (default 21). */
  opset?: number;
}

function tensorProto(t: OnnxTensor): PB {
  const m = new PB();
  for (const d of t.dims) m.int(1, d);
  m.int(2, ONNX_DTYPE[t.dtype]);
  m.str(8, t.name);
  m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return m;
}

function valueInfo(v: OnnxValue): PB {
  const shape = new PB();
  for (const d of v.dims) shape.msg(1, new PB().int(1, d));
  const tensorType = new PB().int(1, ONNX_DTYPE[v.dtype]).msg(2, shape);
  return new PB().str(1, v.name).msg(2, new PB().msg(1, tensorType));
}

function nodeProto(n: OnnxNode, i: number): PB {
  const m = new PB();
  for (const x of n.inputs) m.str(1, x);
  for (const x of n.outputs) m.str(2, x);
  m.str(3, `node${i}`);
  m.str(4, n.op);
  for (const [k, v] of Object.entries(n.ints ?? {})) m.msg(5, new PB().str(1, k).int(3, v).int(20, 2));
  for (const [k, v] of Object.entries(n.floats ?? {})) m.msg(5, new PB().str(1, k).f32(2, v).int(20, 1));
  if (n.domain) m.str(7, n.domain);
  return m;
}

/** Serialize a graph to ONNX ModelProto bytes (IR version 10, default opset 21, com.microsoft 1). */
export function onnxModel(g: OnnxGraph): Uint8Array {
  const graph = new PB();
  g.nodes.forEach((n, i) => graph.msg(1, nodeProto(n, i)));
  graph.str(2, 'oracle');
  for (const t of g.initializers) graph.msg(5, tensorProto(t));
  for (const v of g.inputs) graph.msg(11, valueInfo(v));
  for (const v of g.outputs) graph.msg(12, valueInfo(v));
  const model = new PB();
  model.int(1, 10);
  model.str(2, 'quantwm-test');
  model.msg(7, graph);
  model.msg(8, new PB().str(1, '').int(2, g.opset ?? 21));
  model.msg(8, new PB().str(1, 'com.microsoft').int(2, 1));
  return model.done();
}
