export type { Platform } from './types.js';
