/**
 * One-node onnxruntime-web models for the benches (f32.bench.ts, gemm.bench.ts), built in
 * code on the hand-written ONNX protobuf writer (test/tensor/wasm/onnx-builder.ts), plus a
 * session helper. Weights are initializers, so ORT prepacks them once, as our packB does.
 */
import * as ort from 'onnxruntime-web';
import { onnxModel } from '../test/tensor/wasm/onnx-builder.js';

/**
 * Y(M, N) = A(M, K) · W(K, N); A is the only input ("A"), Y the output ("Y").
 * M is left symbolic (-1 is not allowed in dims; we use the concrete M to match the feed).
 */
export function matMulF32Model(M: number, K: number, N: number, W: Float32Array): Uint8Array {
  if (W.length !== K * N) throw new Error(`matMulF32Model: W has ${W.length} elements, expected ${K}x${N}`);
  return onnxModel({
    nodes: [{ op: 'MatMul', inputs: ['A', 'W'], outputs: ['Y'] }],
    initializers: [{ name: 'W', dtype: 'float', dims: [K, N], data: W }],
    inputs: [{ name: 'A', dtype: 'float', dims: [M, K] }],
    outputs: [{ name: 'Y', dtype: 'float', dims: [M, N] }],
    opset: 21,
  });
}

/** A session with full graph optimisation; set ort.env.wasm.numThreads before the first one. */
export async function ortSession(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
}

export { ort };
