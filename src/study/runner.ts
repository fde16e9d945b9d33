import type { Platform } from '../platform/types.js';
import { cellKey, type Cell } from './grid.js';
import { orderResults, parseResults, parseTimings, resultLine, type CellResult, type CellTiming } from './results.js';

export interface RunOptions {
  platform: Platform;
  /** output directory: results.jsonl, report.md and plots go here */
  dir: string;
  cells: readonly Cell[];
  /** `files`: extra outputs of the cell (e.g. strip rows), relative paths in `dir`, written before its result line */
  runCell: (cell: Cell, progress: (fraction: number) => void) => Promise<{ result: CellResult; timing: CellTiming; files?: ReadonlyMap<string, Uint8Array> }>;
  /** called with the overall and current-cell progress; the CLI draws the bar and ETA */
  onProgress?: (p: { done: number; total: number; cell: string; cellFraction: number; elapsedS: number; etaS: number | null }) => void;
  /** wall-clock source, injectable for tests */
  now?: () => number;
}

export const RESULTS_FILE = 'results.jsonl';
export const TIMINGS_FILE = 'timings.jsonl';

/** Read the results already in `dir` (none if the file does not exist). Drops a torn final line by rewriting the file. */
export async function loadResults(platform: Platform, dir: string): Promise<CellResult[]> {
  const path = `${dir}/${RESULTS_FILE}`;
  if (!(await platform.exists(path))) return [];
  const bytes = await platform.readFile(path);
  const { results, droppedTail } = parseResults(bytes, path);
  if (droppedTail) {
    const keep = new TextDecoder().decode(bytes);
    await platform.writeFile(path, new TextEncoder().encode(keep.slice(0, keep.lastIndexOf('\n') + 1)));
  }
  return results;
}

/**
 * Run every cell that has no result yet, appending one line per finished cell. A killed run
 * loses only the cell in progress; the same call resumes where it stopped.
 * @returns all results for `cells`, in grid order
 */
export async function runStudy(o: RunOptions): Promise<CellResult[]> {
  const now = o.now ?? (() => Date.now());
  await o.platform.mkdirp(o.dir);
  const have = new Map((await loadResults(o.platform, o.dir)).map((r) => [r.key, r]));
  const todo = o.cells.filter((c) => !have.has(cellKey(c)));
  const t0 = now();
  let done = 0;
  for (const cell of todo) {
    const key = cellKey(cell);
    const report = (f: number): void => {
      const elapsedS = (now() - t0) / 1000;
      const progressed = done + f;
      o.onProgress?.({ done, total: todo.length, cell: key, cellFraction: f, elapsedS, etaS: progressed > 0 ? (elapsedS / progressed) * (todo.length - progressed) : null });
    };
    report(0);
    const { result, timing, files } = await o.runCell(cell, report);
    for (const [path, bytes] of files ?? []) await o.platform.writeFile(`${o.dir}/${path}`, bytes);
    await o.platform.appendFile(`${o.dir}/${TIMINGS_FILE}`, resultLine(timing));
    await o.platform.appendFile(`${o.dir}/${RESULTS_FILE}`, resultLine(result));
    have.set(key, result);
    done++;
    report(0);
  }
  return orderResults([...have.values()], o.cells);
}

/** Merge the results.jsonl of several shard directories (later directories win on duplicate keys). */
export async function mergeResults(platform: Platform, dirs: readonly string[], cells?: readonly Cell[]): Promise<CellResult[]> {
  const all = new Map<string, CellResult>();
  for (const d of dirs) for (const r of await loadResults(platform, d)) all.set(r.key, r);
  const rs = [...all.values()];
  return cells ? orderResults(rs, cells) : rs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Timings of the cells in `dirs` (machine-dependent; for the report's cost columns). */
export async function loadTimings(platform: Platform, dirs: readonly string[]): Promise<Map<string, CellTiming>> {
  const out = new Map<string, CellTiming>();
  for (const d of dirs) {
    const path = `${d}/${TIMINGS_FILE}`;
    if (await platform.exists(path)) for (const [k, t] of parseTimings(await platform.readFile(path))) out.set(k, t);
  }
  return out;
}
