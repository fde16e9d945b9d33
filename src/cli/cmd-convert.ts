/** `quantwm convert IN OUT`: safetensors / torch checkpoint / .qwm -> .qwm with canonical names. */
import { nodePlatform } from '../platform/node.js';
import { convertToQwm } from '../io/weights.js';
import { parseArgs } from './args.js';
import { EXIT, type Command } from './run.js';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a .safetensors or PyTorch checkpoint to a native .qwm file',
  help: `Usage: quantwm convert IN OUT [options]

Reads IN (.safetensors, torch .pth/.pt zip checkpoint, or .qwm), renames its tensors to the
canonical names (torch-hub DINOv2, Hugging Face Dinov2Model and DINO-WM checkpoint keys are
recognised; see docs/formats.md), infers the model config from the shapes, checks it, and writes
OUT as .qwm. Optimizer state and non-state module attributes are left out.

  --encoder-heads N     encoder attention heads (default: dim / 64, the DINOv2 convention)
  --predictor-heads N   predictor attention heads (default: inner dim / 64, DINO-WM's dim_head)
  --num-frames N        predictor frames (num_hist); with --num-patches, splits pos_embedding
  --num-patches N       patches per frame (default: guessed, see docs/formats.md)
  --drop-unmapped       leave out tensors no name map knows (default: refuse the file)
  --level N             DEFLATE level 0-9 of OUT (default 6; 0 = stored)
  --strict-globals      refuse any pickle global outside torch's weights_only allowlist
  --json                print the conversion report as JSON`,
  async run(argv) {
    const { opts, positionals } = parseArgs('convert', argv, {
      options: {
        'encoder-heads': 'number',
        'predictor-heads': 'number',
        'num-frames': 'number',
        'num-patches': 'number',
        'drop-unmapped': 'boolean',
        level: 'number',
        'strict-globals': 'boolean',
        json: 'boolean',
      },
      positionals: 2,
    });
    const [input, output] = positionals;
    const bytes = await nodePlatform.readFile(input);
    const num = (k: string): number | undefined => (typeof opts[k] === 'number' ? (opts[k] as number) : undefined);
    const { bytes: out, report } = convertToQwm(bytes, {
      file: input,
      encoderHeads: num('encoder-heads'),
      predictorHeads: num('predictor-heads'),
      numFrames: num('num-frames'),
      numPatches: num('num-patches'),
      dropUnmapped: opts['drop-unmapped'] === true,
      level: num('level'),
      strictGlobals: opts['strict-globals'] === true,
    });
    await nodePlatform.writeFile(output, out);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ output, bytes: out.length, ...report }, null, 1)}\n`);
    } else {
      const lines = [
        `${input} (${report.format}, ${report.schemes.join('+')} naming) -> ${output}: ${report.tensors} tensors, ${report.params.toLocaleString('en-US')} parameters, ${out.length} bytes`,
        `config: ${JSON.stringify(report.config)}`,
        ...report.assumed.map((a) => `assumed: ${a}`),
        ...report.dropped.map((d) => `left out: ${d.name} (${d.reason})`),
        ...report.skipped.map((s) => `not walked: ${s.path} (${s.type})`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return EXIT.OK;
  },
};
