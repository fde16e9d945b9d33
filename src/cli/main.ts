#!/usr/bin/env node
/** The `quantwm` command: a thin layer over the library. Subcommands register in ./commands.ts. */
import { run } from './run.js';

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`quantwm: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
