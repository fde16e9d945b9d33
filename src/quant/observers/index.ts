export * from './minmax.js';
export * from './omse.js';
export * from './percentile.js';
