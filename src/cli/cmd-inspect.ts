/** `quantwm inspect FILE`: list the tensors of a .qwm, .safetensors or torch .pth/.pt file. */
import { nodePlatform } from '../platform/node.js';
import { formatListing, inspectWeights, type Listing, type LoadOptions } from '../io/weights.js';
import { parseArgs, type ArgSpec } from './args.js';
import { EXIT, type Command } from './run.js';
import { makeEnv } from '../env/registry.js';
import { loadWorldModel } from '../nn/model-file.js';
import { auditPlan, layerErrors } from '../quant/audit.js';
import { CalibrationRecorder } from '../quant/model.js';
import { loadModel } from '../quant/model-file.js';
import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';

/** Options of `inspect`; extend here (e.g. --audit) and read them in `inspectFile`. */
export const INSPECT_ARGS: ArgSpec = {
  options: { json: 'boolean', 'strict-globals': 'boolean', 'allow-non-finite': 'boolean', audit: 'string', float: 'string' },
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
  --allow-non-finite  accept NaN/Inf in f32 weights (.qwm reads values)
  --audit OUT.json    quantized .qwm: write the audit trail (every quantizer, its convention, each
                      channel's or group's scale and zero point, search choices and errors,
                      transforms with their scales and shifts, GPTQ errors)
  --float FILE        quantized .qwm: per-layer weight error, output error against this float
                      model on inputs it records while planning a few steps, and bytes`,
  async run(argv) {
    const { opts, positionals } = parseArgs('inspect', argv, INSPECT_ARGS);
    const listing = await inspectFile(positionals[0], {
      strictGlobals: opts['strict-globals'] === true,
      allowNonFinite: opts['allow-non-finite'] === true,
    });
    process.stdout.write(opts.json ? `${JSON.stringify(listing, null, 1)}\n` : formatListing(listing));
    if (opts.audit || opts.float) await quantReport(positionals[0], opts.audit as string | undefined, opts.float as string | undefined, opts.json === true);
    return EXIT.OK;
  },
};

async function quantReport(path: string, auditOut: string | undefined, floatPath: string | undefined, json: boolean): Promise<void> {
  const { model, plan } = loadModel(await nodePlatform.readFile(path), { file: path });
  if (!plan) throw new ValueError('inspect', `${path} is not a quantized model (--audit and --float need one)`);
  if (auditOut) await nodePlatform.writeFile(auditOut, new TextEncoder().encode(`${JSON.stringify(auditPlan(plan), null, 1)}\n`));
  if (!floatPath) return;
  const float = loadWorldModel(await nodePlatform.readFile(floatPath), { file: floatPath }).model;
  // inputs recorded from the float model: a few seeded observations and CEM-sized rollouts
  const env = makeEnv(float.config.name.replace(/^compact-/, ''), { imageSize: float.config.imageSize });
  const rec = new CalibrationRecorder(float, 1024, 0);
  rec.attach();
  const rng = new Rng(0);
  for (let i = 0; i < 4; i++) {
    const { start } = env.sampleStartGoal(rng);
    env.reset(start);
    const acts = Float32Array.from({ length: 16 * 5 * float.actionDim }, () => rng.normal());
    float.rollout(float.encode(env.observe()), acts, 16, 5, 'last');
  }
  rec.detach();
  const rows = layerErrors(float, model, plan, rec.inputs());
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
    return;
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  process.stdout.write(`\n${'layer'.padEnd(w)}  impl              weight err  output err       bytes\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(w)}  ${r.impl.padEnd(16)}  ${r.weight_rel_error.toExponential(2).padStart(10)}  ${r.output_rel_error.toExponential(2).padStart(10)}  ${String(r.bytes).padStart(10)}\n`);
}
