export * from './checkpoint.js';
export * from './frames.js';
export * from './encoder.js';
export * from './wm.js';
