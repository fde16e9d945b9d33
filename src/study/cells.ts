import type { Dataset } from '../env/dataset/dataset.js';
import type { EnvName } from '../env/types.js';
import { loadWorldModel } from '../nn/model-file.js';
import type { WorldModel } from '../nn/world-model.js';
import { evaluate } from '../plan/evaluator.js';
import { CemPlanner } from '../plan/planners.js';
import { applyResult, quantizeTargets } from '../quant/model.js';
import { saveQuantizedModel } from '../quant/model-file.js';
import type { QuantConfig } from '../quant/plan.js';
import type { CalibrationInputs } from '../quant/seam.js';
import { calibrateByPlanning, type CalibOptions } from './calibrate.js';
import type { Cell } from './grid.js';
import { cellKey } from './grid.js';
import type { CellResult, CellTiming } from './results.js';
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
 * A cell runner for runStudy: loads the task's float model, calibrates it once per task by
 * planning (QuantWM's online protocol; reused by every cell of the task, since it only depends
 * on the float model), quantizes onto the integer kernels, and evaluates with the task settings.
 */
export function makeCellRunner(o: CellRunnerOptions): (cell: Cell, progress: (f: number) => void) => Promise<{ result: CellResult; timing: CellTiming }> {
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
    let bytes = assets.modelBytes.length;
    if (cell.method !== 'fp') {
      let calib = calibCache.get(task);
      if (!calib) {
        calib = calibrateByPlanning(fresh(), makeTask(task, model.config.imageSize, norm, assets.dataset), s, o.calib);
        calibCache.set(task, calib);
      }
      const res = quantizeTargets(model, cell.method, cellConfig(cell, o.groupLayout), calib);
      bytes = saveQuantizedModel(model, res).length;
      applyResult(model, res, 'integer');
    }
    let steps = 0;
    let planMs = 0;
    const planner = new CemPlanner(model, s.cem, s.objective);
    const timed = {
      horizon: planner.horizon,
      plan: (...a: Parameters<CemPlanner['plan']>) => {
        const t = now();
        const r = planner.plan(...a);
        planMs += now() - t;
        steps += r.lossPerStep.length;
        return r;
      },
    };
    const metrics = evaluate(evalTask, model, timed, s.eval, (n) => progress((n + 1) / s.eval.episodes));
    const key = cellKey(cell);
    return {
      result: { key, cell, settings: { cem: s.cem, objective: s.objective, eval: s.eval, calib: o.calib, groupLayout: o.groupLayout }, metrics, model_bytes: bytes },
      timing: { key, ms_per_cem_step: steps ? planMs / steps : 0, seconds: (now() - t0) / 1000 },
    };
  };
}
