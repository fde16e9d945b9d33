export * from './dtype.js';
export * from './errors.js';
export * from './tensor.js';
export * from './rng.js';
export * as dmath from './math.js';
export * from './backend.js';
export * from './ops/index.js';
export * as ag from './autograd/index.js';
