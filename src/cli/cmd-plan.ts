import { encodeGif } from '../env/render/gif.js';
import { loadModel } from '../quant/model-file.js';
import type { WorldModel } from '../nn/world-model.js';
import { nodePlatform } from '../platform/node.js';
import { nodeModuleWorkers } from '../platform/module-workers-node.js';
import type { EvalResult } from '../plan/evaluator.js';
import { DEFAULT_GD } from '../plan/gd.js';
import { evaluateParallel } from '../plan/parallel.js';
import type { ActionNorm } from '../plan/types.js';
import { EPISODE_WORKER_URL, episodeProgram, type EpisodeJob } from '../study/episode-job.js';
import { executedFrames, imaginedFrames, resizeNearest } from '../study/imagination.js';
import { defaultSettings, makeTask } from '../study/task.js';
import { ValueError } from '../tensor/errors.js';
import { parseArgs } from './args.js';
import { applyCemFlags, applyThreads, envName, readDataset, required, writeJson } from './common.js';
import { Progress } from './progress.js';
import type { Command } from './run.js';

const HELP = `quantwm plan: evaluate a world model by planning (DINO-WM's CEM/MPC protocol)

Usage: quantwm plan --env wall|pointmaze|pusht --weights FILE [options]

Options:
  --weights FILE      model file (.qwm, float or quantized)
  --oracle            plan with the true dynamics instead (the planner's ceiling); --weights
                      (or --data) still supplies the action statistics
  --planner P         mpc (default: CEM replanned every 5 steps), cem (open loop), gd
  --episodes N        episodes (default 50); episode n uses seed S*n + 1
  --seed S            base seed (default 99)
  --max-iter N        MPC iterations (default: Wall/PointMaze 50, PushT 30)
  --opt-steps N       CEM optimisation steps (default: 10, PushT 30)
  --samples N --topk N --var-scale X --horizon N     CEM settings (300, 30, 1, 5)
  --data DIR          dataset (PushT goals replay dataset actions)
  --threads N         kernel threads (default QWM_THREADS, else every core); results do not depend on it
  --jobs N            episodes run in parallel, one single-threaded worker each (default: the
                      thread count; 1 = one episode at a time on --threads kernel threads);
                      workers left without episodes lend their cores to those still running;
                      results do not depend on it
  --json OUT          write the metrics (snake_case keys) and the settings used
  --gif DIR           write an animation of each episode's executed trajectory; when the model
                      has a decoder, each frame shows it next to the decoded imagined rollout
                      of the plan being executed (goal and start: decoded encodings)
  -h, --help          this help

Prints a table of the metrics; progress and ETA go to stderr. Exit 0 on success, 2 on bad input.
`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'plan with a world model and report success (CEM/MPC, GD, oracle)',
  help: HELP,
  async run(argv) {
    const { opts } = parseArgs('plan', argv, {
      options: { env: 'string', weights: 'string', oracle: 'boolean', planner: 'string', episodes: 'number', seed: 'number', 'max-iter': 'number', 'opt-steps': 'number', samples: 'number', topk: 'number', 'var-scale': 'number', horizon: 'number', data: 'string', threads: 'number', jobs: 'number', json: 'string', gif: 'string' },
      positionals: 0,
    });
    const name = envName(opts.env);
    const threads = applyThreads(opts.threads as number | undefined);
    const jobs = (opts.jobs as number | undefined) ?? threads;
    if (!Number.isInteger(jobs) || jobs < 1) throw new ValueError('--jobs', `must be a positive integer, got ${jobs}`);
    const settings = defaultSettings(name);
    const s = settings;
    if (opts.episodes !== undefined) s.eval.episodes = opts.episodes as number;
    if (opts.seed !== undefined) s.eval.seed = opts.seed as number;
    if (opts['max-iter'] !== undefined) s.eval.mpc.maxIter = opts['max-iter'] as number;
    applyCemFlags(s.cem, opts);
    const plannerKind = (opts.planner as string | undefined) ?? 'mpc';
    if (!['mpc', 'cem', 'gd'].includes(plannerKind)) throw new ValueError('--planner', `must be mpc, cem or gd, got '${plannerKind}'`);
    if (plannerKind === 'cem') s.eval.mpc.maxIter = 1;

    const dataset = opts.data ? await readDataset(opts.data as string) : undefined;
    const modelBytes = opts.weights ? await nodePlatform.readFile(opts.weights as string) : null;
    const wm: WorldModel | null = modelBytes ? loadModel(modelBytes, { file: opts.weights as string }).model : null;
    if (!wm && !opts.oracle) required(undefined, '--weights');
    const norm: ActionNorm = wm
      ? { mean: wm.stats.actionMean, std: wm.stats.actionStd }
      : dataset
        ? { mean: Float32Array.from(dataset.stats.action.mean), std: Float32Array.from(dataset.stats.action.std) }
        : (() => {
            throw new ValueError('--oracle', 'needs --weights or --data for the action statistics');
          })();
    const imageSize = wm ? wm.config.imageSize : 64;
    const task = makeTask(name, imageSize, norm, dataset);
    if (plannerKind === 'gd' && (opts.oracle || !wm)) throw new ValueError('--planner', 'gd needs a differentiable world model (--weights, no --oracle)');
    const job: EpisodeJob = {
      env: name,
      imageSize,
      modelBytes,
      oracle: !!opts.oracle,
      planner: plannerKind === 'gd' ? 'gd' : 'cem',
      cem: s.cem,
      gd: { ...DEFAULT_GD, horizon: s.cem.horizon },
      objective: s.objective,
      mpc: s.eval.mpc,
      norm,
      oracleActionDim: 10,
    };

    const bar = new Progress(`plan ${name}`, s.eval.episodes);
    let wins = 0;
    let done = 0;
    const t0 = Date.now();
    process.stderr.write(`plan ${name}: ${s.eval.episodes} episodes, ${Math.min(jobs, s.eval.episodes)} in parallel (--jobs), ${jobs > 1 ? '1 kernel thread each, more as workers run out of episodes' : `${threads} kernel thread(s)`}\n`);
    const { metrics: res, outcomes } = await evaluateParallel(task, s.eval, {
      job,
      jobs,
      program: episodeProgram,
      entry: EPISODE_WORKER_URL,
      workers: nodeModuleWorkers,
      onEpisode: (_n, o) => {
        done++;
        if (o.result.success) wins++;
        bar.update(done, `success ${wins}/${done}`);
      },
    });
    bar.done(`success ${wins}/${s.eval.episodes}`);
    const seconds = (Date.now() - t0) / 1000;
    process.stdout.write(formatMetrics(res, seconds));
    const out = { ...res, env: name, planner: plannerKind, oracle: !!opts.oracle, weights: opts.weights ?? null, settings: s, seconds };
    if (opts.json) await nodePlatform.writeFile(opts.json as string, writeJson(out));
    if (opts.gif) {
      const sz = task.env.imageSize;
      for (let n = 0; n < outcomes.length; n++) {
        const ep = task.sampleEpisode(s.eval.seed * n + s.eval.offset);
        const actions = outcomes[n].result.actions;
        const real = executedFrames(task.env, ep, actions, wm ? wm.actionDim : job.oracleActionDim ?? 10, norm);
        const withImagination = wm?.decoder && !opts.oracle;
        const frames = withImagination ? sideBySide(real, imaginedFrames(task.env, wm, ep, actions, s.cem.horizon, norm), sz) : real;
        await nodePlatform.writeFile(`${opts.gif as string}/episode-${String(n).padStart(3, '0')}.gif`, encodeGif(frames, withImagination ? 2 * sz : sz, sz, 8));
      }
    }
    return 0;
  },
};

/**
 * [left | right] per frame, (size, 2 size, 3); right frames of another side are resized (nearest).
 * A GIF has one 256-colour palette and decoded frames have thousands of near-white shades that
 * would crowd the env's exact colours out of it, so right pixels are snapped to the 6x6x6 cube
 * (channel levels 0, 51, ..., 255: round(v / 51) * 51, ties away from zero).
 */
function sideBySide(left: Uint8Array[], right: Uint8Array[], size: number): Uint8Array[] {
  if (left.length !== right.length) throw new ValueError('plan --gif', `${left.length} executed frames but ${right.length} imagined ones`);
  return left.map((l, k) => {
    const r = resizeNearest(right[k], size);
    const out = new Uint8Array(size * 2 * size * 3);
    for (let y = 0; y < size; y++) {
      out.set(l.subarray(y * size * 3, (y + 1) * size * 3), y * 2 * size * 3);
      for (let x = 0; x < size * 3; x++) out[(y * 2 * size + size) * 3 + x] = Math.round(r[y * size * 3 + x] / 51) * 51;
    }
    return out;
  });
}

export function formatMetrics(r: EvalResult, seconds: number): string {
  const by = r.success_by_iter;
  const rows: [string, string][] = [
    ['success_rate', `${r.success_rate.toFixed(3)}  (95% CI ${r.success_ci[0].toFixed(3)}-${r.success_ci[1].toFixed(3)}, ${r.episodes.length} episodes)`],
    ['success_by_iter', [1, 2, 5, 10, 20, 30, 50].filter((k) => k <= by.length).map((k) => `@${k}: ${by[k - 1].toFixed(2)}`).join('  ')],
    ['mean_state_dist', r.mean_state_dist.toFixed(3)],
    ['mean_visual_dist', r.mean_visual_dist.toExponential(3)],
    ['mean_proprio_dist', r.mean_proprio_dist.toExponential(3)],
    ['mean_div_visual_emb', r.mean_div_visual_emb.toExponential(3)],
    ['mean_div_proprio_emb', r.mean_div_proprio_emb.toExponential(3)],
    ['plan_loss first/last step', `${(r.plan_loss_by_step[0] ?? NaN).toExponential(3)} / ${(r.plan_loss_by_step[r.plan_loss_by_step.length - 1] ?? NaN).toExponential(3)}`],
    ['seconds', seconds.toFixed(1)],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  return `${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}
