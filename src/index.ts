/**
 * quantwm: the library entry. Web-standard code only: Node file and worker helpers live in
 * ./platform/node.js and ./platform/workers-node.js. Areas are namespaces so their names never clash.
 */
export * from './tensor/index.js';
export { VERSION } from './version.js';
export type { Platform } from './platform/index.js';
export * as nn from './nn/index.js';
export * as plan from './plan/index.js';
export * as quant from './quant/index.js';
export * as env from './env/index.js';
export * as io from './io/index.js';
export * as study from './study/index.js';
export * as train from './train/index.js';
