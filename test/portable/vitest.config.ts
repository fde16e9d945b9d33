import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** The cross-runtime tests (npm run test:deno | test:bun | test:browser): *.rt.ts only. */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/portable/**/*.rt.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
