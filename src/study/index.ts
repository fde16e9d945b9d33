export * from './grid.js';
export * from './results.js';
export * from './runner.js';
export * from './report.js';
export * from './verdicts.js';
export * from './svg.js';
export * from './emit.js';
