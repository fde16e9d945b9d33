/** `quantwm inspect FILE`: list the tensors of a .qwm, .safetensors or torch .pth/.pt file. */
import { nodePlatform } from '../platform/node.js';
import { formatListing, inspectWeights, type Listing, type LoadOptions } from '../io/weights.js';
import { parseArgs, type ArgSpec } from './args.js';
import { EXIT, type Command } from './run.js';

/** Options of `inspect`; extend here (e.g. --audit) and read them in `inspectFile`. */
export const INSPECT_ARGS: ArgSpec = {
  options: { json: 'boolean', 'strict-globals': 'boolean', 'allow-non-finite': 'boolean' },
  positionals: 1,
};

/** Read `path` and build its listing (the CLI prints it; tests and other commands call this). */
export async function inspectFile(path: string, opts: Omit<LoadOptions, 'file'> = {}): Promise<Listing> {
  const bytes = await nodePlatform.readFile(path);
  return inspectWeights(bytes, { ...opts, file: path });
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'list tensors, dtypes, shapes, parameter count and bytes of a weight file',
  help: `Usage: quantwm inspect FILE [--json] [--strict-globals] [--allow-non-finite]

FILE is a .qwm, .safetensors or PyTorch zip checkpoint (.pth/.pt). Prints one row per tensor
(name, dtype as stored, shape, elements, bytes), the parameter count per model section
(encoder, predictor, action_encoder, proprio_encoder, decoder), and for torch checkpoints the
objects that were not walked (optimizers, unknown classes). torch and safetensors files are
listed without reading tensor values.

  --json              print the listing as JSON (for scripts)
  --strict-globals    refuse any pickle global outside torch's weights_only allowlist
  --allow-non-finite  accept NaN/Inf in f32 weights (.qwm reads values)`,
  async run(argv) {
    const { opts, positionals } = parseArgs('inspect', argv, INSPECT_ARGS);
    const listing = await inspectFile(positionals[0], {
      strictGlobals: opts['strict-globals'] === true,
      allowNonFinite: opts['allow-non-finite'] === true,
    });
    process.stdout.write(opts.json ? `${JSON.stringify(listing, null, 1)}\n` : formatListing(listing));
    return EXIT.OK;
  },
};
