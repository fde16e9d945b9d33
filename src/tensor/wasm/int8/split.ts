/**
 * Splitting an integer GEMM call over threads by output tiles. Every output element is
 * computed by exactly one call of the kernel, in the kernel's fixed order, so the result does
 * not depend on how the ranges are cut (bitwise identical for any thread count).
 */
import type { Kernel } from '../compile.js';
import { runTasks, threadsFor } from '../../threads/pool.js';

/**
 * A kernel call whose args contain two half-open ranges: `tiles` = [index of t0, index of t1,
 * count] over row tiles and `panels` = [index of p0, index of p1, count] over column panels.
 */
export interface SplitCall {
  readonly kernel: Kernel;
  readonly fn: string;
  readonly args: readonly number[];
  readonly tiles: readonly [number, number, number];
  readonly panels: readonly [number, number, number];
  /** A per-thread scratch pointer: args[arg] = base + i·bytes for the i-th part. */
  readonly scratch?: { readonly arg: number; readonly base: number; readonly bytes: number };
}

/** Cut [0, n) into `parts` contiguous ranges of near-equal size (empty ones dropped). */
export function cutRange(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) {
    const a = Math.floor((n * i) / parts);
    const b = Math.floor((n * (i + 1)) / parts);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** The per-thread argument lists: cut panels when there are enough, else row tiles. */
export function splitArgs(call: SplitCall, threads: number): number[][] {
  const [pi0, pi1, P] = call.panels;
  const [ti0, ti1, T] = call.tiles;
  const byPanels = P >= 2 * threads || P >= T;
  const ranges = cutRange(byPanels ? P : T, Math.max(1, threads));
  return ranges.map(([a, b], i) => {
    const args = call.args.slice();
    if (call.scratch) args[call.scratch.arg] = call.scratch.base + i * call.scratch.bytes;
    if (byPanels) {
      args[pi0] = a;
      args[pi1] = b;
    } else {
      args[ti0] = a;
      args[ti1] = b;
    }
    return args;
  });
}

/**
 * Run the call as `parts` output-rectangle tasks on the thread pool (../../threads): tasks are
 * claimed dynamically by whichever thread is free, which never changes a bit of the result.
 */
export function runSplit(call: SplitCall, parts: number): void {
  runTasks(call.kernel, call.fn, splitArgs(call, parts));
}

/**
 * The number of tasks a call of `macs` multiply-adds is cut into: `tasks` when given (tests cut
 * calls to check that the split never matters), else 1 for small calls or one thread
 * (threadsFor: waking the pool costs more than it saves) and 4 per thread otherwise (dynamic
 * claiming then balances a core that another process keeps busy).
 */
export function splitParts(tasks: number | undefined, macs: number): number {
  if (tasks !== undefined) return Math.max(1, Math.floor(tasks));
  const n = threadsFor(macs);
  return n === 1 ? 1 : 4 * n;
}
