/** `quantwm env render` and `quantwm env replay`: look at an environment or a stored episode. */
import { makeEnv } from '../env/registry.js';
import { encodeGif } from '../env/render/gif.js';
import { encodePng } from '../env/render/png.js';
import { nodePlatform } from '../platform/node.js';
import { ValueError } from '../tensor/errors.js';
import { Rng } from '../tensor/rng.js';
import { parseArgs } from './args.js';
import { envName, readDataset, required } from './common.js';
import { Progress } from './progress.js';
import { EXIT, type Command } from './run.js';

function imageSize(v: unknown, dflt: number): number {
  const s = v === undefined ? dflt : (v as number);
  if (!Number.isInteger(s) || s < 1 || s > 4096) throw new ValueError('--size', `must be an integer in [1, 4096], got ${String(v)}`);
  return s;
}

export const envRenderCommand: Command = {
  name: 'env render',
  summary: 'render a seeded start (or goal) state of an environment to PNG',
  help: `Usage: quantwm env render --env wall|pointmaze|pusht --seed S --out FILE.png [options]

Samples a start/goal pair with Rng(S) (DINO-WM's random_state for Wall and PointMaze; for PushT
a random reference state and the state 25 scripted-pusher steps later) and writes the start
observation as PNG.

  --env E       wall | pointmaze | pusht (required)
  --seed S      integer seed (default 0)
  --out FILE    PNG path (required)
  --size N      image side in pixels (default 224)
  --goal        render the goal state instead of the start
  --door-y Y    Wall door row (default 30)`,
  async run(argv) {
    const { opts } = parseArgs('env render', argv, {
      options: { env: 'string', seed: 'number', out: 'string', size: 'number', goal: 'boolean', 'door-y': 'number' },
      positionals: 0,
    });
    const name = envName(required(opts.env, '--env'));
    const out = required(opts.out, '--out') as string;
    const seed = (opts.seed as number | undefined) ?? 0;
    if (!Number.isInteger(seed)) throw new ValueError('--seed', `must be an integer, got ${seed}`);
    const size = imageSize(opts.size, 224);
    const params: Record<string, number> = {};
    if (opts['door-y'] !== undefined) params.doorY = opts['door-y'] as number;
    const env = makeEnv(name, params);
    const { start, goal } = env.sampleStartGoal(new Rng(seed));
    const state = opts.goal ? goal : start;
    await nodePlatform.writeFile(out, encodePng(env.render(state, size), size, size));
    process.stdout.write(`${out}: ${name} ${opts.goal ? 'goal' : 'start'} state [${Array.from(state, (v) => +v.toFixed(4)).join(', ')}], ${size}x${size}\n`);
    return EXIT.OK;
  },
};

export const envReplayCommand: Command = {
  name: 'env replay',
  summary: 'replay a stored dataset episode, check it, and write an animated GIF',
  help: `Usage: quantwm env replay --data DIR --episode K --out FILE.gif [options]

Resets the env to episode K's stored start state, applies its stored actions, checks every
replayed state against the stored one (float32, bit for bit), renders each state and writes an
animated GIF. Exit 1 if the replay diverges from the stored trajectory.

  --data DIR    dataset directory from quantwm data gen (or the .qwmd file itself) (required)
  --episode K   episode index (required)
  --out FILE    GIF path (required)
  --size N      frame side in pixels (default 224)
  --fps F       frames per second (default 10, DINO-WM's PushT control rate)`,
  async run(argv) {
    const { opts } = parseArgs('env replay', argv, {
      options: { data: 'string', episode: 'number', out: 'string', size: 'number', fps: 'number' },
      positionals: 0,
    });
    const dir = required(opts.data, '--data') as string;
    const k = required(opts.episode, '--episode') as number;
    const out = required(opts.out, '--out') as string;
    const size = imageSize(opts.size, 224);
    const fps = (opts.fps as number | undefined) ?? 10;
    if (!(fps > 0 && fps <= 100)) throw new ValueError('--fps', `must be in (0, 100], got ${fps}`);
    const ds = await readDataset(dir);
    if (!Number.isInteger(k) || k < 0 || k >= ds.episodes) throw new ValueError('--episode', `must be an integer in [0, ${ds.episodes}), got ${k}`);
    const env = makeEnv(ds.env, ds.envParams);
    const stored = ds.episodeStates(k);
    const S = ds.stateDim;
    const traj = Float32Array.from(env.replay(stored.subarray(0, S), ds.episodeActions(k)));
    for (let i = 0; i < traj.length; i++) {
      if (!Object.is(traj[i], stored[i])) {
        const t = Math.floor(i / S);
        process.stderr.write(`quantwm env replay: episode ${k} diverges at step ${t}, state[${i % S}]: replayed ${traj[i]}, stored ${stored[i]}\n`);
        return EXIT.FAIL;
      }
    }
    const T = traj.length / S;
    const progress = new Progress(`env replay ${ds.env} #${k}`, T);
    const frames: Uint8Array[] = [];
    for (let t = 0; t < T; t++) {
      frames.push(env.render(traj.subarray(t * S, (t + 1) * S), size));
      if (t % 10 === 0) progress.update(t);
    }
    progress.done();
    await nodePlatform.writeFile(out, encodeGif(frames, size, size, 100 / fps));
    process.stdout.write(`${out}: ${ds.env} episode ${k}, ${T} frames ${size}x${size}, replay matches the stored states\n`);
    return EXIT.OK;
  },
};
