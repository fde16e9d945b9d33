/**
 * onnxruntime-node sessions for bench:model: the native CPU execution provider (the prebuilt
 * libonnxruntime shipped inside the npm package; its postinstall, which only fetches the CUDA EP,
 * is denied in package.json allowScripts) running the same ONNX graphs as onnxruntime-web
 * (bench/ort-vit.ts). One intra-op thread per requested thread, sequential execution, full
 * graph optimisation.
 */
import * as ortNode from 'onnxruntime-node';

/** A native CPU session with `threads` intra-op threads (the caller's thread counts as one). */
export async function ortNodeSession(model: Uint8Array, threads: number): Promise<ortNode.InferenceSession> {
  return ortNode.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
}

export { ortNode };
