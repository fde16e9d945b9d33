import { generateDataset } from '../env/dataset/generate.js';
import type { Dataset } from '../env/dataset/dataset.js';
import { ENV_NAMES, type EnvName } from '../env/types.js';
import { nodeModuleWorkers } from '../platform/module-workers-node.js';
import { nodePlatform } from '../platform/node.js';
import { makeCellRunner } from '../study/cells.js';
import { k8sManifest, slurmScript } from '../study/emit.js';
import { paperGrid, parseShard, quickGrid, shardCells, type Cell, type Method } from '../study/grid.js';
import { renderPlots, renderReport } from '../study/report.js';
import type { CellResult, CellTiming } from '../study/results.js';
import { loadTimings, mergeResults, runStudy } from '../study/runner.js';
import { composeStrips, STRIP_EPISODES, STRIP_ROWS_DIR, stripCells } from '../study/strips.js';
import { defaultSettings } from '../study/task.js';
import { ValueError } from '../tensor/errors.js';
import { parseArgs } from './args.js';
import { applyThreads, readDataset, required } from './common.js';
import { fmtTime } from './progress.js';
import type { Command } from './run.js';

const PRESETS = {
  /** Wall, a representative subset, few episodes: minutes on a 2-core machine */
  quick: { tasks: ['wall'] as EnvName[], episodes: 6, maxIter: 3, calibEpisodes: 2 },
  /** the whole grid as QuantWM ran it: 50 episodes, the full MPC budget, 50 calibration episodes */
  paper: { tasks: [...ENV_NAMES] as EnvName[], episodes: 50, maxIter: 0, calibEpisodes: 50 },
};

const HELP = `quantwm study: QuantWM's experiments on the shipped world models, with a report

Usage: quantwm study [options]
       quantwm study merge DIR... --out DIR
       quantwm study --emit slurm|k8s --shards N [options]   (print a cluster job for the grid)

  --preset P          quick (default: Wall, 9 cells, 6 episodes, 3 MPC iterations, minutes)
                      | paper (all tasks, the full grid, 50 episodes, full MPC budget)
  --tasks T,...       wall,pointmaze,pusht
  --methods M,...     restrict methods (rtn,omse,awq,gptq,smoothquant,omniquant)
  --bits B,...        restrict weight bits (8,6,4,3)
  --episodes N        evaluation episodes per cell (seeds 99n+1)
  --max-iter N        MPC iteration budget (0 = the task's: Wall/PointMaze 50, PushT 30)
  --calib-episodes N  calibration episodes (seeds 99n+2, quant_iter 2)
  --group-small G     the group size scaled to the compact widths (default 32)
  --out DIR           results directory (default study-out); the same command resumes
  --shard i/n         run every n-th cell starting at i (0-based); merge the shards afterwards
  --weights DIR       where <task>.qwm live (default weights)
  --data DIR          where <task>/dataset.qwmd live (PushT goals); without --data the
                      dataset is generated in memory (seed 0, as quantwm data gen)
  --threads N         kernel threads (default: every core; results do not depend on it)
  --jobs N            episodes of a cell evaluated in parallel, one single-threaded worker each
                      (default: the thread count; 1 = one at a time on --threads kernel threads);
                      workers left without episodes lend their cores to those still running;
                      results do not depend on it

Writes DIR/results.jsonl (one line per finished cell, deterministic), DIR/timings.jsonl,
DIR/report.md, DIR/*.svg and DIR/strip-<task>-ep<n>.png (the first plan of the first
${STRIP_EPISODES} episodes, real vs imagined, float and the lowest-bit cell of each family; their
rows are kept in DIR/${STRIP_ROWS_DIR}/), regenerated from the results after every run.
`;

function list(v: unknown): string[] | undefined {
  return typeof v === 'string' ? v.split(',').filter(Boolean) : undefined;
}

/** report.md, the SVG plots and the episode strips of `dirs` (composed from their strip rows), written to `out`. */
async function writeReport(dirs: readonly string[], out: string, results: CellResult[], timings: Map<string, CellTiming>): Promise<void> {
  const enc = new TextEncoder();
  const strips = await composeStrips(nodePlatform, dirs, results);
  for (const x of strips) await nodePlatform.writeFile(`${out}/${x.file}`, x.png);
  await nodePlatform.writeFile(`${out}/report.md`, enc.encode(renderReport(results, timings, undefined, strips)));
  for (const [name, svg] of renderPlots(results)) await nodePlatform.writeFile(`${out}/${name}`, enc.encode(svg));
}

export const studyCommand: Command = {
  name: 'study',
  summary: 'run the QuantWM study (quick or paper preset), resumable and shardable, with a report',
  help: HELP,
  async run(argv) {
    const { opts } = parseArgs('study', argv, {
      options: { preset: 'string', tasks: 'string', methods: 'string', bits: 'string', episodes: 'number', 'max-iter': 'number', 'calib-episodes': 'number', 'group-small': 'number', out: 'string', shard: 'string', weights: 'string', data: 'string', threads: 'number', jobs: 'number', emit: 'string', shards: 'number' },
      positionals: 0,
    });
    const presetName = (opts.preset as string | undefined) ?? 'quick';
    if (presetName !== 'quick' && presetName !== 'paper') throw new ValueError('--preset', `must be quick or paper, got '${presetName}'`);
    const preset = PRESETS[presetName];
    const tasks = (list(opts.tasks) ?? preset.tasks) as EnvName[];
    for (const t of tasks) if (!ENV_NAMES.includes(t)) throw new ValueError('--tasks', `unknown task '${t}'`);
    const small = (opts['group-small'] as number | undefined) ?? 32;
    const bits = list(opts.bits)?.map(Number);
    const methods = list(opts.methods) as Method[] | undefined;
    let cells: Cell[] =
      presetName === 'quick'
        ? tasks.flatMap((t) => quickGrid(t, small))
        : paperGrid({ tasks, groups: [-1, 128, small], methods, bits });
    if (presetName === 'quick') cells = cells.filter((c) => c.method === 'fp' || ((!methods || methods.includes(c.method)) && (!bits || bits.includes(c.wbits))));
    const out = (opts.out as string | undefined) ?? 'study-out';
    if (opts.emit !== undefined) {
      const shards = required(opts.shards as number | undefined, '--shards');
      const pass = argv.filter((a, i) => !['--emit', '--shards', '--out'].includes(a) && !['--emit', '--shards', '--out'].includes(argv[i - 1]));
      const emit = { shards, studyArgs: pass, out };
      if (opts.emit === 'slurm') process.stdout.write(slurmScript(emit));
      else if (opts.emit === 'k8s') process.stdout.write(k8sManifest(emit));
      else throw new ValueError('--emit', `must be slurm or k8s, got '${String(opts.emit)}'`);
      return 0;
    }
    const strips = stripCells(cells); // from the whole grid, so every shard agrees
    if (opts.shard) {
      const { index, count } = parseShard(opts.shard as string);
      cells = shardCells(cells, index, count);
    }
    const threads = applyThreads(opts.threads as number | undefined);
    const jobs = (opts.jobs as number | undefined) ?? threads;
    if (!Number.isInteger(jobs) || jobs < 1) throw new ValueError('--jobs', `must be a positive integer, got ${jobs}`);
    const episodes = (opts.episodes as number | undefined) ?? preset.episodes;
    const maxIter = (opts['max-iter'] as number | undefined) ?? preset.maxIter;
    const weightsDir = (opts.weights as string | undefined) ?? 'weights';
    const dataDir = opts.data as string | undefined;
    const datasets = new Map<EnvName, Dataset>();
    const dataset = async (t: EnvName): Promise<Dataset> => {
      let d = datasets.get(t);
      if (!d) {
        d = dataDir ? await readDataset(`${dataDir}/${t}`) : generateDataset({ env: t, seed: 0, envParams: {} });
        datasets.set(t, d);
      }
      return d;
    };
    const runCell = makeCellRunner({
      assets: async (t) => ({ modelBytes: await nodePlatform.readFile(`${weightsDir}/${t}.qwm`), dataset: t === 'pusht' ? await dataset(t) : undefined }),
      settings: (t) => {
        const s = defaultSettings(t);
        s.eval.episodes = episodes;
        if (maxIter > 0) s.eval.mpc.maxIter = maxIter;
        return s;
      },
      calib: { episodes: (opts['calib-episodes'] as number | undefined) ?? preset.calibEpisodes, quantIter: 2, rows: 2048 },
      groupLayout: 'flat',
      jobs,
      workers: nodeModuleWorkers,
      strips: { keys: strips, episodes: STRIP_EPISODES },
    });
    process.stderr.write(`study: ${cells.length} cells (${presetName}), ${episodes} episodes each (${jobs} in parallel), results in ${out}\n`);
    const results = await runStudy({
      platform: nodePlatform,
      dir: out,
      cells,
      runCell,
      onProgress: (p) => {
        process.stderr.write(`[${p.done}/${p.total}] ${p.cell} ${(100 * p.cellFraction).toFixed(0)}%  ${fmtTime(p.elapsedS)} elapsed, ETA ${p.etaS === null ? '?' : fmtTime(p.etaS)}\n`);
      },
    });
    await writeReport([out], out, results, await loadTimings(nodePlatform, [out]));
    process.stdout.write(`${out}/report.md: ${results.length} cells\n`);
    return 0;
  },
};

export const studyMergeCommand: Command = {
  name: 'study merge',
  summary: 'merge study shards into one results directory and report',
  help: 'Usage: quantwm study merge DIR... --out DIR\n\nCombines the results.jsonl (and timings) of shard directories; the report equals a single-machine run.\n',
  async run(argv) {
    const { opts, positionals } = parseArgs('study merge', argv, { options: { out: 'string' } });
    if (positionals.length === 0) throw new ValueError('study merge', 'give at least one shard directory');
    const out = required(opts.out as string | undefined, '--out');
    const results = await mergeResults(nodePlatform, positionals);
    const timings = await loadTimings(nodePlatform, positionals);
    await nodePlatform.mkdirp(out);
    const enc = new TextEncoder();
    await nodePlatform.writeFile(`${out}/results.jsonl`, enc.encode(results.map((r) => JSON.stringify(r)).join('\n') + (results.length ? '\n' : '')));
    await nodePlatform.writeFile(`${out}/timings.jsonl`, enc.encode([...timings.values()].map((t) => JSON.stringify(t)).join('\n') + (timings.size ? '\n' : '')));
    for (const d of positionals) {
      if (!(await nodePlatform.exists(`${d}/${STRIP_ROWS_DIR}`))) continue;
      for (const f of await nodePlatform.readdir(`${d}/${STRIP_ROWS_DIR}`)) await nodePlatform.writeFile(`${out}/${STRIP_ROWS_DIR}/${f}`, await nodePlatform.readFile(`${d}/${STRIP_ROWS_DIR}/${f}`));
    }
    await writeReport([out], out, results, timings);
    process.stdout.write(`${out}/report.md: ${results.length} cells from ${positionals.length} shard(s)\n`);
    return 0;
  },
};
