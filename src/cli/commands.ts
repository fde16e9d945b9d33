import type { Command } from './run.js';

/** Every subcommand, in the order `quantwm --help` lists them. Each lives in its own file. */
export const COMMANDS: Command[] = [];
