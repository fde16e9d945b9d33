import type { CemSettings } from '../plan/cem.js';
import { decodeDataset } from '../env/dataset/store.js';
import type { Dataset } from '../env/dataset/dataset.js';
import { ENV_NAMES, type EnvName } from '../env/types.js';
import { nodePlatform } from '../platform/node.js';
import { nodeWorkers } from '../platform/workers-node.js';
import { ValueError } from '../tensor/errors.js';
import { setThreads } from '../tensor/threads/index.js';

/** --threads N (default: QWM_THREADS, else every core). Results never depend on it. */
export function applyThreads(n: number | undefined): number {
  const want = n ?? Number(process.env.QWM_THREADS ?? nodePlatform.hardwareConcurrency());
  if (!Number.isInteger(want) || want < 1) throw new ValueError('--threads', `must be a positive integer, got ${want}`);
  return setThreads(want, nodeWorkers);
}

export function envName(v: unknown, flag = '--env'): EnvName {
  if (typeof v !== 'string' || !ENV_NAMES.includes(v as EnvName)) throw new ValueError(flag, `must be one of ${ENV_NAMES.join(', ')}, got '${String(v)}'`);
  return v as EnvName;
}

export function required<T>(v: T | undefined, flag: string): T {
  if (v === undefined) throw new ValueError(flag, 'is required');
  return v;
}

/** The dataset file in a `quantwm data gen` output directory. */
export const DATASET_FILE = 'dataset.qwmd';

export async function readDataset(dir: string): Promise<Dataset> {
  const path = dir.endsWith('.qwmd') ? dir : `${dir}/${DATASET_FILE}`;
  if (!(await nodePlatform.exists(path))) throw new ValueError('--data', `no dataset at ${path} (make one with quantwm data gen)`);
  return decodeDataset(await nodePlatform.readFile(path));
}

export function writeJson(obj: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(obj, null, 2)}\n`);
}

/** The CEM flags `plan` and `data mine` share (--var-scale --opt-steps --samples --topk --horizon), applied over `cem`. */
export function applyCemFlags(cem: CemSettings, opts: Record<string, unknown>): void {
  if (opts['var-scale'] !== undefined) cem.varScale = opts['var-scale'] as number;
  if (opts['opt-steps'] !== undefined) cem.optSteps = opts['opt-steps'] as number;
  if (opts.samples !== undefined) cem.samples = opts.samples as number;
  if (opts.topk !== undefined) cem.topk = opts.topk as number;
  if (opts.horizon !== undefined) cem.horizon = opts.horizon as number;
}
