export * from './windows.js';
export * from './wm.js';
export * from './encoder.js';
