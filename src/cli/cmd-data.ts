/** `quantwm data gen`: generate a DINO-WM-style trajectory dataset into DIR/dataset.qwmd. */
import type { Dataset } from '../env/dataset/dataset.js';
import { DATA_DEFAULTS, POLICIES, generateDataset } from '../env/dataset/generate.js';
import { encodeDataset } from '../env/dataset/store.js';
import { nodePlatform } from '../platform/node.js';
import { ValueError } from '../tensor/errors.js';
import { parseArgs } from './args.js';
import { DATASET_FILE, envName, required, writeJson } from './common.js';
import { Progress, fmtTime } from './progress.js';
import { EXIT, type Command } from './run.js';

const HELP = `Usage: quantwm data gen --env wall|pointmaze|pusht --out DIR [options]

Generates random trajectories with DINO-WM's data regimes and writes DIR/${DATASET_FILE}
(chunked, compressed float32 states, actions, proprio; header with env parameters, generator
seed and version, episode lengths, normalisation statistics) and DIR/summary.json.
Images are not stored: they are re-rendered from states on demand (deterministic).

  --env E             wall | pointmaze | pusht (required)
  --out DIR           output directory (required; created if missing)
  --trajectories N    episodes (default: wall ${DATA_DEFAULTS.wall.trajectories}, pointmaze ${DATA_DEFAULTS.pointmaze.trajectories}, pusht ${DATA_DEFAULTS.pusht.trajectories})
  --steps T           actions per episode (default: wall ${DATA_DEFAULTS.wall.steps}, pointmaze ${DATA_DEFAULTS.pointmaze.steps}, pusht 100..200 per episode)
  --seed S            integer seed (default 0); episode k uses Rng.derive(S, k)
  --policy P          wall: ${POLICIES.wall.join(' | ')} (default ${DATA_DEFAULTS.wall.policy});
                      pointmaze: random; pusht: pusher
  --door-y Y          Wall door row (default 30)
  --image-size N      image size recorded in the env parameters (default 224)
  --quiet             no progress bar

Progress and ETA go to stderr; the summary (episodes, bytes, seconds, crossing or contact
fractions) to stdout. Exit 0 on success, 2 on bad usage.`;

export const dataGenCommand: Command = {
  name: 'data gen',
  summary: 'generate a Wall / PointMaze / PushT trajectory dataset',
  help: HELP,
  async run(argv) {
    const { opts } = parseArgs('data gen', argv, {
      options: { env: 'string', out: 'string', trajectories: 'number', steps: 'number', seed: 'number', policy: 'string', 'door-y': 'number', 'image-size': 'number', quiet: 'boolean' },
      positionals: 0,
    });
    const env = envName(required(opts.env, '--env'));
    const out = required(opts.out, '--out') as string;
    const envParams: Record<string, number> = {};
    if (opts['door-y'] !== undefined) {
      if (env !== 'wall') throw new ValueError('--door-y', 'applies to --env wall only');
      envParams.doorY = opts['door-y'] as number;
    }
    if (opts['image-size'] !== undefined) envParams.imageSize = opts['image-size'] as number;
    const trajectories = (opts.trajectories as number | undefined) ?? DATA_DEFAULTS[env].trajectories;
    const progress = opts.quiet ? null : new Progress(`data gen ${env}`, trajectories);
    const t0 = performance.now();
    const ds = generateDataset({
      env,
      trajectories,
      steps: opts.steps as number | undefined,
      seed: opts.seed as number | undefined,
      policy: opts.policy as string | undefined,
      envParams,
      onProgress: progress ? (done) => progress.update(done) : undefined,
    });
    const t1 = performance.now();
    progress?.done();
    await saveDataset(out, ds, (t1 - t0) / 1000);
    return EXIT.OK;
  },
};

/** Encode `ds` into DIR/dataset.qwmd and DIR/summary.json, and print the one-line summary. */
export async function saveDataset(out: string, ds: Dataset, generateSeconds: number): Promise<void> {
  const t1 = performance.now();
  const bytes = encodeDataset(ds);
  const encodeSeconds = (performance.now() - t1) / 1000;
  await nodePlatform.mkdirp(out);
  const path = `${out.replace(/\/+$/, '')}/${DATASET_FILE}`;
  await nodePlatform.writeFile(path, bytes);
  const actions = ds.actions.length / ds.actionDim;
  const rawBytes = (ds.states.length + ds.actions.length + ds.proprio.length) * 4;
  const summary = {
    file: path,
    env: ds.env,
    envParams: ds.envParams,
    generator: ds.generator,
    episodes: ds.episodes,
    actions,
    states: ds.states.length / ds.stateDim,
    bytes: bytes.length,
    rawBytes,
    seconds: { generate: generateSeconds, encode: encodeSeconds },
    info: ds.info,
    stats: ds.stats,
  };
  await nodePlatform.writeFile(`${out.replace(/\/+$/, '')}/summary.json`, writeJson(summary));
  const facts = Object.entries(ds.info)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`)
    .join(', ');
  process.stdout.write(
    `${path}: ${ds.env}, ${ds.episodes} episodes, ${actions} actions, ${(bytes.length / 1e6).toFixed(2)} MB ` +
      `(${((100 * bytes.length) / rawBytes).toFixed(0)}% of raw), generated in ${fmtTime(generateSeconds)}, encoded in ${fmtTime(encodeSeconds)}\n` +
      `${facts}\n`,
  );
}
