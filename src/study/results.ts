import { ValueError } from '../tensor/errors.js';
import type { EvalResult } from '../plan/evaluator.js';
import { cellKey, type Cell } from './grid.js';

/** One finished cell, one line of results.jsonl. */
export interface CellResult {
  key: string;
  cell: Cell;
  /** planner and evaluation settings the numbers were measured with */
  settings: Record<string, unknown>;
  metrics: EvalResult;
  /**
   * bytes of the (quantized) world model's tensors as stored: packed codes, scales, zero points
   * and float parameters; the visualisation decoder, which planning never runs, is not counted
   */
  model_bytes: number;
}

/**
 * Wall-clock facts of a cell, kept apart in timings.jsonl: machine-dependent, so results.jsonl
 * stays a pure function of the grid and the seeds (a resumed or sharded run writes the same bytes).
 */
export interface CellTiming {
  key: string;
  /** mean time of one CEM optimisation step (one batched rollout of all samples), ms */
  ms_per_cem_step: number;
  seconds: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function resultLine(r: CellResult | CellTiming): Uint8Array {
  return enc.encode(`${JSON.stringify(r)}\n`);
}

/**
 * Parse results.jsonl. A final line without its newline is the trace of a run killed while
 * appending: it is dropped (and reported), never half-read. Any other bad line is an error
 * naming its line number. Later lines for the same key replace earlier ones.
 */
export function parseResults(bytes: Uint8Array, where = 'results.jsonl'): { results: CellResult[]; droppedTail: boolean } {
  const text = dec.decode(bytes);
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  const byKey = new Map<string, CellResult>();
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let r: CellResult;
    try {
      r = JSON.parse(line) as CellResult;
    } catch {
      throw new ValueError(where, `line ${i + 1} is not JSON`);
    }
    if (typeof r.key !== 'string' || !r.cell || !r.metrics || r.key !== cellKey(r.cell)) {
      throw new ValueError(where, `line ${i + 1} is not a cell result`);
    }
    byKey.set(r.key, r);
  });
  return { results: [...byKey.values()], droppedTail: tail.trim() !== '' };
}

/** Results in the order of `cells` (the canonical grid order), ignoring cells with no result. */
export function orderResults(results: readonly CellResult[], cells: readonly Cell[]): CellResult[] {
  const m = new Map(results.map((r) => [r.key, r]));
  const out: CellResult[] = [];
  for (const c of cells) {
    const r = m.get(cellKey(c));
    if (r) out.push(r);
  }
  return out;
}

/** Parse timings.jsonl leniently (a torn or bad line only loses that cell's timing). */
export function parseTimings(bytes: Uint8Array): Map<string, CellTiming> {
  const out = new Map<string, CellTiming>();
  for (const line of dec.decode(bytes).split('\n')) {
    try {
      const t = JSON.parse(line) as CellTiming;
      if (typeof t.key === 'string' && typeof t.ms_per_cem_step === 'number') out.set(t.key, t);
    } catch {
      // torn line from a killed run
    }
  }
  return out;
}
