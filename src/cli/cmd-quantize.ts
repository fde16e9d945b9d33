import { loadWorldModel } from '../nn/model-file.js';
import type { WorldModel } from '../nn/world-model.js';
import { nodePlatform } from '../platform/node.js';
import { quantizeTargets } from '../quant/model.js';
import { saveQuantizedModel } from '../quant/model-file.js';
import type { MethodName, QuantConfig } from '../quant/plan.js';
import type { CalibrationInputs } from '../quant/seam.js';
import { calibrateByPlanning, calibrateFromDataset } from '../study/calibrate.js';
import { defaultSettings, makeTask } from '../study/task.js';
import { ValueError } from '../tensor/errors.js';
import { parseArgs } from './args.js';
import { applyThreads, envName, readDataset, required } from './common.js';
import { Progress } from './progress.js';
import type { Command } from './run.js';

const METHODS: readonly MethodName[] = ['rtn', 'omse', 'smoothquant', 'awq', 'omniquant', 'gptq'];

const HELP = `quantwm quantize: post-training quantization of a world model into a packed model file

Usage: quantwm quantize --weights IN --method M --wbits B --out OUT [options]

  --method M          rtn | omse | smoothquant | awq | omniquant | gptq
  --wbits B           weight bits 2..8 (16 = float) for both encoder and predictor
  --abits B           input-activation bits 2..8 (default 16 = float activations)
  --encoder B         weight bits of the encoder alone (overrides --wbits; 16 = leave float)
  --predictor B       weight bits of the predictor alone (overrides --wbits)
  --group G           weight group size along in_features (default -1: per output channel)
  --group-layout L    flat (QuantWM: W.reshape(-1, G), groups may straddle rows) | row-aligned
  --act A             per-tensor (static, calibrated; default) | per-token (dynamic)
  --semantics S       quantwm (QuantWM's code as it is; default) | paper (the published method)
  --calib C           planning (QuantWM's online protocol, default) | dataset (frames of --data)
  --calib-episodes N  calibration episodes (default 10; QuantWM uses 50), seeds 99n + 2
  --quant-iter N      MPC iterations planned during calibration (default 2, QuantWM's README)
  --calib-rows N      input rows kept per Linear (default 2048) plus the exact global range
  --env E             the task the model plans in (default: from the model's name)
  --data DIR          dataset (PushT goals; --calib dataset)
  --threads N         kernel threads (default QWM_THREADS, else every core)
The output runs on the integer kernels in \`quantwm plan\`; \`quantwm inspect --audit\` explains it.
`;

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a world model (RTN, OMSE, SmoothQuant, AWQ, OmniQuant, GPTQ) into a packed file',
  help: HELP,
  async run(argv) {
    const { opts } = parseArgs('quantize', argv, {
      options: { weights: 'string', method: 'string', wbits: 'number', abits: 'number', encoder: 'number', predictor: 'number', group: 'number', 'group-layout': 'string', act: 'string', semantics: 'string', calib: 'string', 'calib-episodes': 'number', 'quant-iter': 'number', 'calib-rows': 'number', env: 'string', data: 'string', threads: 'number', out: 'string' },
      positionals: 0,
    });
    applyThreads(opts.threads as number | undefined);
    const file = required(opts.weights as string | undefined, '--weights');
    const out = required(opts.out as string | undefined, '--out');
    const method = required(opts.method as string | undefined, '--method') as MethodName;
    if (!METHODS.includes(method)) throw new ValueError('--method', `must be one of ${METHODS.join(', ')}, got '${method}'`);
    const { model } = loadWorldModel(await nodePlatform.readFile(file), { file });
    const wbits = (opts.wbits as number | undefined) ?? 16;
    const abits = (opts.abits as number | undefined) ?? 16;
    const config: Partial<QuantConfig> = {
      encoder: { wbits: (opts.encoder as number | undefined) ?? wbits, abits: opts.encoder === 16 ? 16 : abits },
      predictor: { wbits: (opts.predictor as number | undefined) ?? wbits, abits: opts.predictor === 16 ? 16 : abits },
      groupSize: (opts.group as number | undefined) ?? -1,
      groupLayout: ((opts['group-layout'] as string | undefined) ?? 'flat') as QuantConfig['groupLayout'],
      act: ((opts.act as string | undefined) ?? 'per-tensor') as QuantConfig['act'],
      semantics: ((opts.semantics as string | undefined) ?? 'quantwm') as QuantConfig['semantics'],
    };
    const t0 = Date.now();
    const calib = await calibration(model, opts);
    const res = quantizeTargets(model, method, config, calib);
    const bytes = saveQuantizedModel(model, res, { made_by: 'quantwm quantize', command: `quantwm quantize ${argv.join(' ')}`, source: file, seconds: (Date.now() - t0) / 1000 });
    await nodePlatform.writeFile(out, bytes);
    const quantized = res.plan.layers.filter((l) => l.weight).length;
    process.stdout.write(`${out}: ${method} (${res.plan.semantics}), ${quantized}/${res.plan.layers.length} Linears quantized, ${bytes.length} bytes (float file ${(await nodePlatform.readFile(file)).length})\n`);
    return 0;
  },
};

async function calibration(model: WorldModel, opts: Record<string, unknown>): Promise<CalibrationInputs> {
  const kind = (opts.calib as string | undefined) ?? 'planning';
  const rows = (opts['calib-rows'] as number | undefined) ?? 2048;
  const dataset = opts.data ? await readDataset(opts.data as string) : undefined;
  if (kind === 'dataset') {
    if (!dataset) throw new ValueError('--calib dataset', 'needs --data');
    return calibrateFromDataset(model, dataset, 256, rows, 99);
  }
  if (kind !== 'planning') throw new ValueError('--calib', `must be planning or dataset, got '${kind}'`);
  const env = envName((opts.env as string | undefined) ?? model.config.name.replace(/^compact-/, ''), '--env');
  const task = makeTask(env, model.config.imageSize, { mean: model.stats.actionMean, std: model.stats.actionStd }, dataset);
  const episodes = (opts['calib-episodes'] as number | undefined) ?? 10;
  const bar = new Progress('calibrate', episodes);
  const c = calibrateByPlanning(model, task, defaultSettings(env), { episodes, quantIter: (opts['quant-iter'] as number | undefined) ?? 2, rows }, (n) => bar.update(n));
  bar.done();
  return c;
}
