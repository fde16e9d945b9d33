/**
 * Bun implements node:fs, node:os and node:worker_threads natively, so its platform is Node's
 * under its own name. Kernel threads: ./workers-node.ts or ./workers-browser.ts (Bun has both).
 */
import { nodePlatform } from './node.js';
import type { Platform } from './types.js';

export const bunPlatform: Platform = { ...nodePlatform, name: 'bun' };
