import type { Dataset } from '../env/dataset/dataset.js';
import { encodePng } from '../env/render/png.js';
import type { EnvName } from '../env/types.js';
import { loadWorldModel, readModelFile } from '../nn/model-file.js';
import type { WorldModel } from '../nn/world-model.js';
import { episodeSeed } from '../plan/evaluator.js';
import { evaluateParallel } from '../plan/parallel.js';
import type { ModuleWorkerFactory } from '../platform/types.js';
import { quantizeTargets } from '../quant/model.js';
import { saveQuantizedModel } from '../quant/model-file.js';
import type { QuantConfig } from '../quant/plan.js';
import type { CalibrationInputs } from '../quant/seam.js';
import { calibrateByPlanning, type CalibOptions } from './calibrate.js';
import type { Cell } from './grid.js';
import { cellKey } from './grid.js';
import { EPISODE_WORKER_URL, episodeProgram, jobModel, type EpisodeJob } from './episode-job.js';
import type { CellResult, CellTiming } from './results.js';
import { stripRow, stripRowFile } from './strips.js';
import { makeTask, type TaskSettings } from './task.js';

/** What a study needs per task: the float model file and (PushT) its dataset. */
export interface TaskAssets {
  modelBytes: Uint8Array;
  dataset?: Dataset;
}

export interface CellRunnerOptions {
  assets: (task: EnvName) => Promise<TaskAssets>;
  settings: (task: EnvName) => TaskSettings;
  calib: CalibOptions;
  /** weight group layout for group-wise cells ('flat' = QuantWM) */
  groupLayout: QuantConfig['groupLayout'];
  now?: () => number;
  /** episodes evaluated in parallel, one single-threaded worker each until idle workers lend their cores (default 1: in this thread, on the kernel threads) */
  jobs?: number;
  /** the runtime's module-worker factory; needed when jobs > 1 */
  workers?: ModuleWorkerFactory;
  /** cells (keys, see stripCells) that draw episode strips for their first `episodes` episodes */
  strips?: { keys: ReadonlySet<string>; episodes: number };
}

/** The quantization config a cell describes. */
export function cellConfig(c: Cell, groupLayout: QuantConfig['groupLayout']): Partial<QuantConfig> {
  const on = { wbits: c.wbits, abits: c.abits };
  const off = { wbits: 16, abits: 16 };
  return {
    encoder: c.target === 'predictor' ? off : on,
    predictor: c.target === 'encoder' ? off : on,
    groupSize: c.group,
    groupLayout,
    act: c.act ?? 'per-tensor',
    semantics: 'quantwm',
  };
}

/**
 * The group layout a cell runs with. QuantWM's flat groups (`W.reshape(-1, G)`) exist only when
 * G divides every quantized weight's element count; at the compact widths group 128 does not
 * (fc1 is 336 x 84 = 28,224 = 220.5 x 128, where QuantWM's reshape would raise), so such a cell
 * uses row-aligned groups instead, and its result records the layout it ran with.
 */
export function cellGroupLayout(model: WorldModel, c: Cell, wanted: QuantConfig['groupLayout']): QuantConfig['groupLayout'] {
  if (wanted !== 'flat' || c.group <= 0) return wanted;
  return model.linears().every(({ linear }) => linear.weight.size % c.group === 0) ? 'flat' : 'row-aligned';
}

/**
 * A cell runner for runStudy: loads the task's float model, calibrates it once per task by
 * planning (QuantWM's online protocol; reused by every cell of the task, since it only depends
 * on the float model), quantizes it and saves the quantized .qwm, and evaluates that file's model
 * (integer kernels) with the task settings, `jobs` episodes at a time. Strip cells also return
 * their row pairs (files under strip-rows/).
 */
export function makeCellRunner(o: CellRunnerOptions): (cell: Cell, progress: (f: number) => void) => Promise<{ result: CellResult; timing: CellTiming; files: Map<string, Uint8Array> }> {
  const calibCache = new Map<EnvName, CalibrationInputs>();
  const now = o.now ?? (() => Date.now());
  return async (cell, progress) => {
    const t0 = now();
    const task = cell.task as EnvName;
    const assets = await o.assets(task);
    const s = o.settings(task);
    const fresh = (): WorldModel => loadWorldModel(assets.modelBytes).model;
    const model = fresh();
    const norm = { mean: model.stats.actionMean, std: model.stats.actionStd };
    const evalTask = makeTask(task, model.config.imageSize, norm, assets.dataset);
    let bytes = assets.modelBytes;
    const layout = cellGroupLayout(model, cell, o.groupLayout);
    if (cell.method !== 'fp') {
      let calib = calibCache.get(task);
      if (!calib) {
        calib = calibrateByPlanning(fresh(), makeTask(task, model.config.imageSize, norm, assets.dataset), s, o.calib);
        calibCache.set(task, calib);
      }
      bytes = saveQuantizedModel(model, quantizeTargets(model, cell.method, cellConfig(cell, layout), calib));
    }
    const job: EpisodeJob = { env: task, imageSize: model.config.imageSize, modelBytes: bytes, oracle: false, planner: 'cem', cem: s.cem, objective: s.objective, mpc: s.eval.mpc, norm };
    let done = 0;
    const { metrics, outcomes } = await evaluateParallel(evalTask, s.eval, {
      job,
      jobs: o.jobs ?? 1,
      program: episodeProgram,
      entry: EPISODE_WORKER_URL,
      workers: o.workers,
      onEpisode: () => progress(++done / s.eval.episodes),
    });
    const key = cellKey(cell);
    const files = new Map<string, Uint8Array>();
    if (o.strips?.keys.has(key)) {
      const wm = jobModel(job)!;
      if (wm.decoder) {
        const HA = s.cem.horizon * wm.actionDim;
        for (let n = 0; n < Math.min(o.strips.episodes, outcomes.length); n++) {
          const row = stripRow(evalTask.env, wm, evalTask.sampleEpisode(episodeSeed(s.eval, n)), outcomes[n].result.actions.slice(0, HA), s.cem.horizon, norm);
          files.set(stripRowFile(key, n), encodePng(row.rgb, row.width, row.height));
        }
      }
    }
    const steps = outcomes.reduce((a, x) => a + x.planSteps, 0);
    const planMs = outcomes.reduce((a, x) => a + x.planMs, 0);
    return {
      result: { key, cell, settings: { cem: s.cem, objective: s.objective, eval: s.eval, calib: o.calib, groupLayout: layout }, metrics, model_bytes: worldModelBytes(bytes) },
      timing: { key, ms_per_cem_step: steps ? planMs / steps : 0, seconds: (now() - t0) / 1000 },
      files,
    };
  };
}

/** Stored bytes of a model file's tensors, without the visualisation decoder (results.ts model_bytes). */
export function worldModelBytes(file: Uint8Array): number {
  let n = 0;
  for (const [name, t] of readModelFile(file).tensors) if (!name.startsWith('decoder.')) n += t.data.byteLength;
  return n;
}
