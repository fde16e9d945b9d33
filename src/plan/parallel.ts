/**
 * Episodes in parallel across threads. An evaluation is described by a serialisable `job` (e.g.
 * the model as .qwm bytes, the env name, the planner settings) and an `EpisodeProgram` that turns
 * the job into a function running one whole MPC episode. Workers (each single-threaded, each with
 * its own copy of the model) receive the job once and then one episode at a time, the next one as
 * soon as they finish (episodes differ in length: solved ones stop early). Results are gathered
 * back in episode order and summarised by the same `summarize` as the serial evaluator, so the
 * metrics are identical, bit for bit, for every `jobs`: an episode's result depends only on the
 * job and its seed.
 *
 * Idle cores join the episodes still running: the main thread keeps the count of workers that
 * still have an episode in a shared Int32Array; before each plan (one MPC iteration) a worker
 * runs its kernels on floor(jobs / running) threads. At the end of an evaluation, when one long
 * (failed) episode is left, it gets the cores its finished siblings left. Kernel results never
 * depend on the thread count, so neither does any result.
 *
 * Protocol (structured-cloned messages):
 *   worker -> main  {type: 'ready'}                      after the entry module loaded
 *   main -> worker  {type: 'init', job, share}           once (share: the running count, or null)
 *   main -> worker  {type: 'episode', spec}              one at a time
 *   worker -> main  {type: 'result', n, outcome} | {type: 'error', n, code, where, message}
 * The worker builds the program from the job at its first episode, so a bad job (e.g. corrupt
 * model bytes) fails as an error of that episode.
 */
import type { ModuleWorker, ModuleWorkerFactory, WorkerPort } from '../platform/types.js';
import { QuantwmError, ValueError } from '../tensor/errors.js';
import { setThreads, threadCount } from '../tensor/threads/index.js';
import { episodeSeed, summarize, type EvalResult, type EvalSettings, type EvalTask } from './evaluator.js';
import type { EpisodeResult } from './mpc.js';

/** One episode to run: its index, seed and the start/goal the main thread sampled for it. */
export interface EpisodeSpec {
  n: number;
  seed: number;
  /** env state (stateDim) */
  start: Float64Array;
  goal: Float64Array;
}

/** What one episode returns: the MPC result and the time spent planning (for cost reports only). */
export interface EpisodeOutcome {
  result: EpisodeResult;
  /** wall-clock ms inside the planner over the episode */
  planMs: number;
  /** planner optimisation steps (CEM steps) over the episode */
  planSteps: number;
  /** most kernel threads the episode's planning ran on (more than 1 once idle workers' cores joined) */
  planThreads: number;
}

/** Builds the episode runner from a job; runs in a worker or, for jobs = 1, in the calling thread. */
export type EpisodeProgram<J> = (job: J) => (spec: EpisodeSpec) => EpisodeOutcome;

/** An episode failed (in a worker or in the calling thread); names the episode, its seed and the cause. */
export class EpisodeError extends QuantwmError {
  constructor(
    readonly episode: number,
    readonly seed: number,
    /** the code of the original error (E_VALUE, E_FORMAT, ...) or E_WORKER for a worker that died */
    readonly causeCode: string,
    message: string,
  ) {
    super('E_EPISODE', `episode ${episode} (seed ${seed})`, message);
  }
}

export interface ParallelOptions<J> {
  /** the serialisable description of the work, sent once to every worker */
  job: J;
  /** worker count; 1 runs every episode in the calling thread through `program` (kernel threads still apply) */
  jobs: number;
  /** how to build the episode runner from the job (used in the calling thread when jobs = 1) */
  program: EpisodeProgram<J>;
  /** ES module whose `main(port)` calls serveEpisodes(port, program) with the same program */
  entry?: URL | string;
  /** the runtime's module-worker factory (src/platform/module-workers-*.ts); required when jobs > 1 */
  workers?: ModuleWorkerFactory;
  /** called as each episode finishes, in completion order (not episode order) */
  onEpisode?: (n: number, outcome: EpisodeOutcome) => void;
}

/** The evaluation's episodes with their seeds and start/goal pairs (sampled here, so workers need no dataset). */
export function episodeSpecs(task: Pick<EvalTask, 'sampleEpisode'>, s: EvalSettings): EpisodeSpec[] {
  if (!Number.isInteger(s.episodes) || s.episodes < 1) throw new ValueError('evaluateParallel', `episodes must be >= 1, got ${s.episodes}`);
  return Array.from({ length: s.episodes }, (_, n) => {
    const seed = episodeSeed(s, n);
    const { start, goal } = task.sampleEpisode(seed);
    return { n, seed, start, goal };
  });
}

/**
 * The DINO-WM evaluation with episodes spread over `jobs` workers. Same metrics as `evaluate`
 * with the model and planner the program builds, for every `jobs`.
 * @returns the summary and the per-episode outcomes in episode order
 */
export async function evaluateParallel<J>(task: Pick<EvalTask, 'sampleEpisode'>, s: EvalSettings, o: ParallelOptions<J>): Promise<{ metrics: EvalResult; outcomes: EpisodeOutcome[] }> {
  if (!Number.isInteger(o.jobs) || o.jobs < 1) throw new ValueError('evaluateParallel', `jobs must be a positive integer, got ${o.jobs}`);
  const specs = episodeSpecs(task, s);
  const jobs = Math.min(o.jobs, specs.length);
  const outcomes = jobs === 1 ? runHere(specs, o) : await runInWorkers(specs, jobs, o);
  return { metrics: summarize(outcomes.map((x) => x.result), specs.map((x) => x.seed), s.mpc.maxIter), outcomes };
}

function causeOf(e: unknown): { code: string; message: string } {
  if (e instanceof QuantwmError) return { code: e.code, message: e.message };
  return { code: 'E_UNKNOWN', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

function runHere<J>(specs: EpisodeSpec[], o: ParallelOptions<J>): EpisodeOutcome[] {
  let run: ((spec: EpisodeSpec) => EpisodeOutcome) | null = null;
  return specs.map((spec) => {
    let out: EpisodeOutcome;
    try {
      run ??= o.program(o.job);
      out = run(spec);
    } catch (e) {
      const c = causeOf(e);
      throw new EpisodeError(spec.n, spec.seed, c.code, c.message);
    }
    o.onEpisode?.(spec.n, out);
    return out;
  });
}

type FromWorker = { type: 'ready' } | { type: 'result'; n: number; outcome: EpisodeOutcome } | { type: 'error'; n: number; code: string; message: string };

function runInWorkers<J>(specs: EpisodeSpec[], jobs: number, o: ParallelOptions<J>): Promise<EpisodeOutcome[]> {
  if (!o.workers || o.entry === undefined) throw new ValueError('evaluateParallel', `jobs = ${jobs} needs a module-worker factory and an entry module`);
  const workers = o.workers;
  const entry = o.entry;
  // running[0] = workers that still have an episode (see the header); null without shared memory
  const running = typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : null;
  if (running) running[0] = jobs;
  const share: Share | null = running ? { running, cores: jobs } : null;
  return new Promise((resolve, reject) => {
    const outcomes: EpisodeOutcome[] = new Array(specs.length);
    const pool: ModuleWorker[] = [];
    let next = 0;
    let finished = 0;
    let settled = false;
    const stop = (): void => {
      settled = true;
      for (const w of pool) w.terminate();
    };
    const fail = (spec: EpisodeSpec, code: string, message: string): void => {
      if (settled) return;
      stop();
      reject(new EpisodeError(spec.n, spec.seed, code, message));
    };
    for (let k = 0; k < jobs; k++) {
      // each worker's first episode is chosen now, so a worker that fails to start names it
      let current = specs[next++];
      let w: ModuleWorker;
      try {
        w = workers.spawn(entry);
      } catch (e) {
        const c = causeOf(e);
        fail(current, c.code, `starting worker ${k}: ${c.message}`);
        return;
      }
      pool.push(w);
      w.onError((e) => fail(current, 'E_WORKER', `worker ${k} failed: ${e.message}`));
      w.onMessage((raw) => {
        if (settled) return;
        const m = raw as FromWorker;
        if (m.type === 'ready') {
          w.post({ type: 'init', job: o.job, share });
          w.post({ type: 'episode', spec: current });
          return;
        }
        if (m.type === 'error') {
          fail(specs[m.n], m.code, m.message);
          return;
        }
        outcomes[m.n] = m.outcome;
        finished++;
        o.onEpisode?.(m.n, m.outcome);
        if (finished === specs.length) {
          stop();
          resolve(outcomes);
        } else if (next < specs.length) {
          current = specs[next++];
          w.post({ type: 'episode', spec: current });
        } else if (running) Atomics.sub(running, 0, 1);
      });
    }
  });
}

/**
 * The worker side: answer episode requests with `program`. An entry module is
 *   export function main(port: WorkerPort): void { serveEpisodes(port, myProgram); }
 */
export function serveEpisodes<J>(port: WorkerPort, program: EpisodeProgram<J>): void {
  let job: J | undefined;
  let run: ((spec: EpisodeSpec) => EpisodeOutcome) | null = null;
  port.onMessage((raw) => {
    const m = raw as { type: 'init'; job: J; share: Share | null } | { type: 'episode'; spec: EpisodeSpec };
    if (m.type === 'init') {
      job = m.job;
      run = null;
      if (m.share && port.kernelWorkers) {
        setThreads(1, port.kernelWorkers); // installs the factory; threads start when cores free up
        joined = m.share;
      }
      return;
    }
    try {
      if (job === undefined) throw new ValueError('serveEpisodes', 'episode before init');
      run ??= program(job);
      port.post({ type: 'result', n: m.spec.n, outcome: run(m.spec) });
    } catch (e) {
      port.post({ type: 'error', n: m.spec.n, ...causeOf(e) });
    }
  });
  port.post({ type: 'ready' });
}

/** The running-workers count an episode worker follows (set by serveEpisodes' init). */
interface Share {
  running: Int32Array;
  cores: number;
}

let joined: Share | null = null;

/** Kernel threads for this worker now: its share of the cores (1 outside a sharing worker). */
function joinIdleCores(): number {
  if (!joined) return threadCount();
  const want = Math.max(1, Math.floor(joined.cores / Math.max(1, Atomics.load(joined.running, 0))));
  return want === threadCount() ? want : setThreads(want);
}

/**
 * The planner as an episode runs it: before each plan (one MPC iteration) the worker takes its
 * share of idle cores (see the header); the time, steps and most threads spent are counted into
 * `acc` (cost reports only; results never depend on them).
 */
export function episodePlanner<P extends { readonly horizon: number; plan(...a: never[]): { lossPerStep: number[] } }>(
  p: P,
  acc: { ms: number; steps: number; threads: number },
  now: () => number = () => performance.now(),
): P {
  return {
    horizon: p.horizon,
    plan: (...a: Parameters<P['plan']>) => {
      acc.threads = Math.max(acc.threads, joinIdleCores());
      const t = now();
      const r = p.plan(...a);
      acc.ms += now() - t;
      acc.steps += r.lossPerStep.length;
      return r;
    },
  } as unknown as P;
}
