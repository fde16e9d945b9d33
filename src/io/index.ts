/** Weight files: native .qwm, safetensors, PyTorch zip checkpoints, name maps, configs. See docs/formats.md. */
export * from './errors.js';
export { AllocBudget, crc32, type ReadOptions } from './bytes.js';
export * from './tensors.js';
export * from './qwm.js';
export * from './safetensors.js';
export * from './zip.js';
export * from './pickle.js';
export * from './torch.js';
export * from './names.js';
export * from './config.js';
export * from './sniff.js';
export * from './weights.js';
