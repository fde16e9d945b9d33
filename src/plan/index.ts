export * from './types.js';
export * from './objective.js';
export * from './cem.js';
export * from './mpc.js';
export * from './planners.js';
export * from './oracle.js';
export * from './metrics.js';
export * from './evaluator.js';
