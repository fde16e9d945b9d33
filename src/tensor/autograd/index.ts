/**
 * Reverse-mode autograd over the reference ops. Differentiable functions mirror ../ops by name
 * and take Vars; with nothing requiring grad (or inside noGrad) they record nothing.
 */
export { Var, param, constant, noGrad, isGradEnabled, tracks, record, result } from './var.js';
export type { BackwardFn, Node } from './var.js';
export { backward, grad } from './backward.js';
export * from './elementwise.js';
export * from './linalg.js';
export * from './nn.js';
export * from './shape.js';
export * from './reduce.js';
export * from './custom.js';
export * from './conv.js';
export * from './optim.js';
export * from './params.js';
