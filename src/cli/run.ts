import { QuantwmError } from '../tensor/errors.js';
import { VERSION } from '../version.js';
import { COMMANDS } from './commands.js';

/** Exit codes: 0 ok, 1 failure while working, 2 bad usage or bad input. */
export const EXIT = { OK: 0, FAIL: 1, USAGE: 2 } as const;

export interface Command {
  /** e.g. "data gen" */
  name: string;
  summary: string;
  /** full --help text */
  help: string;
  run(args: string[]): Promise<number>;
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `quantwm ${VERSION}: quantized world models in TypeScript`,
    '',
    'Usage: quantwm <command> [options]    (quantwm <command> --help for details)',
    '',
    'Commands:',
    ...lines,
    '',
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(usage());
    return argv.length === 0 ? EXIT.USAGE : EXIT.OK;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.OK;
  }
  // Longest matching command name wins ("study merge" before "study").
  const sorted = [...COMMANDS].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const cmd of sorted) {
    const words = cmd.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) {
      const rest = argv.slice(words.length);
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(cmd.help.endsWith('\n') ? cmd.help : `${cmd.help}\n`);
        return EXIT.OK;
      }
      try {
        return await cmd.run(rest);
      } catch (e) {
        if (e instanceof QuantwmError) {
          process.stderr.write(`quantwm ${cmd.name}: ${e.message}\n`);
          return EXIT.USAGE;
        }
        throw e;
      }
    }
  }
  process.stderr.write(`quantwm: unknown command '${argv.join(' ')}'\n\n${usage()}`);
  return EXIT.USAGE;
}
