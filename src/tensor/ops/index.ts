/**
 * Reference ops on Tensor<'f32'>: pure functions, never mutating their inputs. Each file's
 * header states its float32 semantics; matmul/linear route every 2-D product through
 * backend().gemmF32 so a WASM backend speeds them all up.
 */
export * from './elementwise.js';
export * from './matmul.js';
export * from './norm.js';
export * from './softmax.js';
export * from './activation.js';
export * from './reduce.js';
export * from './sort.js';
export * from './gather.js';
export * from './shape.js';
export * from './loss.js';
export * from './patch.js';
export * from './conv.js';
export * from './resize.js';
export * from './image.js';
export { broadcastShapes, normAxis } from './util.js';
