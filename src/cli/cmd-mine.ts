/** `quantwm data mine`: record what a CEM planner's chosen sequences really do (src/train/mine.ts). */
import { loadModel } from '../quant/model-file.js';
import { nodePlatform } from '../platform/node.js';
import { defaultSettings, makeTask } from '../study/task.js';
import { mineDataset } from '../train/mine.js';
import { parseArgs } from './args.js';
import { saveDataset } from './cmd-data.js';
import { applyCemFlags, applyThreads, envName, readDataset, required } from './common.js';
import { Progress } from './progress.js';
import { EXIT, type Command } from './run.js';

const HELP = `Usage: quantwm data mine --env wall|pointmaze|pusht --weights FILE --out DIR [options]

Plans MPC episodes with the world model in FILE (DINO-WM's CEM settings for the env unless
overridden) and records, for every plan, the cheapest samples of each CEM optimisation step and
the plan itself, each executed in the true env from the state it was planned at, as trajectories
of horizon x 5 env steps in DIR/dataset.qwmd (the format of \`quantwm data gen\`). Training on them
(\`quantwm train wm --data GEN,MINED --init FILE\`) corrects the predictions the planner exploits.

  --env E             wall | pointmaze | pusht (required)
  --weights FILE      float world model (.qwm) to plan with (required)
  --out DIR           output directory (required; created if missing)
  --episodes N        mining episodes (default 100)
  --iters K           MPC iterations per episode at most (default 3)
  --per-step P        cheapest samples recorded per CEM step (default 3)
  --seed S --offset O episode n uses seed S*n + O (default 99n+3: no evaluation or calibration episode)
  --var-scale X --opt-steps N --samples N --topk N --horizon N   CEM overrides
  --data DIR          dataset whose validation episodes give PushT's start/goal pairs
  --threads N         kernel threads (default: all cores)
  --quiet             no progress bar

Exit 0 on success, 2 on bad usage.`;

export const dataMineCommand: Command = {
  name: 'data mine',
  summary: 'record the executed outcomes of a CEM planner\'s elites as a training dataset',
  help: HELP,
  async run(argv) {
    const { opts } = parseArgs('data mine', argv, {
      options: { env: 'string', weights: 'string', out: 'string', episodes: 'number', iters: 'number', 'per-step': 'number', seed: 'number', offset: 'number', 'var-scale': 'number', 'opt-steps': 'number', samples: 'number', topk: 'number', horizon: 'number', data: 'string', threads: 'number', quiet: 'boolean' },
      positionals: 0,
    });
    const name = envName(required(opts.env, '--env'));
    const file = required(opts.weights, '--weights') as string;
    const out = required(opts.out, '--out') as string;
    applyThreads(opts.threads as number | undefined);
    const s = defaultSettings(name);
    applyCemFlags(s.cem, opts);
    const wm = loadModel(await nodePlatform.readFile(file), { file }).model;
    const norm = { mean: wm.stats.actionMean, std: wm.stats.actionStd };
    const dataset = opts.data ? await readDataset(opts.data as string) : undefined;
    const task = makeTask(name, wm.config.imageSize, norm, dataset);
    const episodes = (opts.episodes as number | undefined) ?? 100;
    const progress = opts.quiet ? null : new Progress(`data mine ${name}`, episodes);
    const t0 = performance.now();
    const ds = mineDataset({
      env: task.env,
      model: wm,
      norm,
      cem: s.cem,
      objective: s.objective,
      sampleEpisode: task.sampleEpisode,
      episodes,
      iters: (opts.iters as number | undefined) ?? 3,
      perStep: (opts['per-step'] as number | undefined) ?? 3,
      seed: (opts.seed as number | undefined) ?? 99,
      offset: (opts.offset as number | undefined) ?? 3,
      label: file,
      onProgress: progress ? (done, _total, solved) => progress.update(done, `solved ${solved}/${done}`) : undefined,
    });
    progress?.done();
    await saveDataset(out, ds, (performance.now() - t0) / 1000);
    return EXIT.OK;
  },
};
