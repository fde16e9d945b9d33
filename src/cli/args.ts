import { ValueError } from '../tensor/errors.js';

export interface ArgSpec {
  /** option names without dashes, with their kind */
  options: Record<string, 'string' | 'number' | 'boolean'>;
  /** number of required positionals */
  positionals?: number;
}

export interface ParsedArgs {
  opts: Record<string, string | number | boolean | undefined>;
  positionals: string[];
}

/** Parse `--name value`, `--name=value` and `--flag`. Unknown options are an error naming them. */
export function parseArgs(where: string, argv: string[], spec: ArgSpec): ParsedArgs {
  const opts: ParsedArgs['opts'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const kind = spec.options[name];
    if (kind === undefined) throw new ValueError(where, `unknown option --${name}`);
    if (kind === 'boolean') {
      opts[name] = true;
      continue;
    }
    const raw = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new ValueError(where, `--${name} needs a value`);
    if (kind === 'number') {
      const v = Number(raw);
      if (!Number.isFinite(v)) throw new ValueError(where, `--${name} must be a number, got '${raw}'`);
      opts[name] = v;
    } else opts[name] = raw;
  }
  if (spec.positionals !== undefined && positionals.length !== spec.positionals) {
    throw new ValueError(where, `expected ${spec.positionals} positional argument(s), got ${positionals.length}`);
  }
  return { opts, positionals };
}
