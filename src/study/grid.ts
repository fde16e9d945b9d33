import { ValueError } from '../tensor/errors.js';

export type Task = 'wall' | 'pointmaze' | 'pusht';
export type Method = 'fp' | 'rtn' | 'omse' | 'awq' | 'gptq' | 'smoothquant' | 'omniquant';
export type Experiment = 'baseline' | 'weight-only' | 'weight-act' | 'module';
export type ActGranularity = 'per-tensor' | 'per-token';
export type Target = 'both' | 'encoder' | 'predictor';

/** One configuration of the study: what to quantize and how. Bits 16 = float. */
export interface Cell {
  task: Task;
  experiment: Experiment;
  method: Method;
  wbits: number;
  abits: number;
  /** weight group size along in_features; -1 = per output channel */
  group: number;
  act: ActGranularity | null;
  target: Target;
}

export const TASKS: readonly Task[] = ['wall', 'pointmaze', 'pusht'];
export const WEIGHT_ONLY_METHODS: readonly Method[] = ['rtn', 'omse', 'awq', 'gptq'];
export const WEIGHT_ACT_METHODS: readonly Method[] = ['rtn', 'omse', 'smoothquant', 'omniquant'];
export const WEIGHT_BITS: readonly number[] = [8, 6, 4, 3];
export const WA_BITS: readonly [number, number][] = [
  [8, 8],
  [6, 6],
  [4, 8],
  [4, 4],
];

/** A stable, human-readable key: the resume and merge identity of a cell. */
export function cellKey(c: Cell): string {
  const g = c.group < 0 ? 'pc' : `g${c.group}`;
  const a = c.abits >= 16 ? 'a16' : `a${c.abits}-${c.act}`;
  return `${c.task}/${c.experiment}/${c.method}/w${c.wbits}${g}/${a}/${c.target}`;
}

/** A short human label: 'fp', 'rtn W4 g32', 'smoothquant W8A8 per-token', 'rtn W3 encoder only'. */
export function cellLabel(c: Cell): string {
  if (c.method === 'fp') return 'fp';
  const bits = c.abits >= 16 ? `W${c.wbits}` : `W${c.wbits}A${c.abits}`;
  const parts = [c.method, bits];
  if (c.group > 0) parts.push(`g${c.group}`);
  if (c.act && c.abits < 16) parts.push(c.act);
  if (c.target !== 'both') parts.push(`${c.target} only`);
  return parts.join(' ');
}

export interface GridOptions {
  tasks: readonly Task[];
  /** restrict methods (fp is always kept as the baseline) */
  methods?: readonly Method[];
  /** restrict weight bits */
  bits?: readonly number[];
  /** group sizes for weight-only cells: -1 per-channel, 128, and one scaled to the compact widths */
  groups: readonly number[];
}

/**
 * The QuantWM grid per task: float baseline; weight-only W8/6/4/3 x groups x {RTN, OMSE, AWQ, GPTQ};
 * weight-activation W8A8, W6A6, W4A8, W4A4 x {per-tensor, per-token} x {RTN, OMSE, SmoothQuant, OmniQuant};
 * encoder-only and predictor-only RTN weight quantization at 8, 6, 4, 3 bits.
 */
export function paperGrid(o: GridOptions): Cell[] {
  const keepM = (m: Method): boolean => !o.methods || o.methods.includes(m);
  const keepB = (b: number): boolean => !o.bits || o.bits.includes(b);
  const cells: Cell[] = [];
  for (const task of o.tasks) {
    cells.push({ task, experiment: 'baseline', method: 'fp', wbits: 16, abits: 16, group: -1, act: null, target: 'both' });
    for (const method of WEIGHT_ONLY_METHODS.filter(keepM))
      for (const wbits of WEIGHT_BITS.filter(keepB))
        for (const group of o.groups) cells.push({ task, experiment: 'weight-only', method, wbits, abits: 16, group, act: null, target: 'both' });
    for (const method of WEIGHT_ACT_METHODS.filter(keepM))
      for (const [wbits, abits] of WA_BITS.filter(([w]) => keepB(w)))
        for (const act of ['per-tensor', 'per-token'] as const) cells.push({ task, experiment: 'weight-act', method, wbits, abits, group: -1, act, target: 'both' });
    if (keepM('rtn'))
      for (const target of ['encoder', 'predictor'] as const)
        for (const wbits of WEIGHT_BITS.filter(keepB)) cells.push({ task, experiment: 'module', method: 'rtn', wbits, abits: 16, group: -1, act: null, target });
  }
  return dedupe(cells);
}

/**
 * The quick preset: one task, nine cells that answer each finding once: group-wise vs per-channel
 * at 4 and 3 bits (F1), per-token vs per-tensor activations at W4A8 (F2), encoder-only vs
 * predictor-only at 3 bits (F3), and every cell's planning loss against success (F4).
 */
export function quickGrid(task: Task = 'wall', smallGroup = 32): Cell[] {
  const base = { task, abits: 16, act: null, target: 'both' as Target };
  return [
    { ...base, experiment: 'baseline', method: 'fp', wbits: 16, group: -1 },
    { ...base, experiment: 'weight-only', method: 'rtn', wbits: 4, group: -1 },
    { ...base, experiment: 'weight-only', method: 'rtn', wbits: 4, group: smallGroup },
    { ...base, experiment: 'weight-only', method: 'rtn', wbits: 3, group: -1 },
    { ...base, experiment: 'weight-only', method: 'rtn', wbits: 3, group: smallGroup },
    { task, experiment: 'weight-act', method: 'rtn', wbits: 4, abits: 8, group: -1, act: 'per-tensor', target: 'both' },
    { task, experiment: 'weight-act', method: 'rtn', wbits: 4, abits: 8, group: -1, act: 'per-token', target: 'both' },
    { ...base, experiment: 'module', method: 'rtn', wbits: 3, group: -1, target: 'encoder' },
    { ...base, experiment: 'module', method: 'rtn', wbits: 3, group: -1, target: 'predictor' },
  ];
}

function dedupe(cells: Cell[]): Cell[] {
  const seen = new Set<string>();
  return cells.filter((c) => {
    const k = cellKey(c);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Parse "i/n" (0-based i) and return the deterministic slice: every n-th cell starting at i. */
export function parseShard(s: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) throw new ValueError('--shard', `expected i/n, got '${s}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new ValueError('--shard', `index ${index} outside 0..${count - 1}`);
  return { index, count };
}

export function shardCells(cells: readonly Cell[], index: number, count: number): Cell[] {
  return cells.filter((_, i) => i % count === index);
}
