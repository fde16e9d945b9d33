/** quantwm: the library entry. Web-standard only; Node file helpers live in ./platform/node.js. */
export * from './tensor/index.js';
export type { Platform } from './platform/index.js';
export const VERSION = '0.1.0';
