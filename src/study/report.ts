import { cellKey, cellLabel, WA_BITS, WEIGHT_BITS, type Cell, type Task } from './grid.js';
import type { CellResult, CellTiming } from './results.js';
import type { Strip } from './strips.js';
import { chart, type Series } from './svg.js';
import { allVerdicts, lossSuccessAuc } from './verdicts.js';

const fmtRate = (r: CellResult | undefined): string => {
  if (!r) return '–';
  const [lo, hi] = r.metrics.success_ci;
  return `${r.metrics.success_rate.toFixed(2)} [${lo.toFixed(2)}, ${hi.toFixed(2)}]`;
};

const groupName = (g: number): string => (g < 0 ? 'per-channel' : `group ${g}`);

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * The report: tables laid out like the paper's, verdicts computed from the numbers, cost columns,
 * and links to the episode strips (composeStrips) when there are any.
 */
export function renderReport(
  unordered: readonly CellResult[],
  timings: ReadonlyMap<string, CellTiming> = new Map(),
  title = 'quantwm study',
  strips: readonly Pick<Strip, 'file' | 'task' | 'episode' | 'seed' | 'labels'>[] = [],
): string {
  const results = byKey(unordered);
  const find = new Map(results.map((r) => [r.key, r]));
  const get = (c: Cell): CellResult | undefined => find.get(cellKey(c));
  const tasks = [...new Set(results.map((r) => r.cell.task))] as Task[];
  const out: string[] = [`# ${title}`, ''];
  out.push('Success rate with its Wilson 95% interval. Every number comes from results.jsonl; this file is regenerated from it.', '');
  out.push('## Findings', '');
  for (const v of allVerdicts(results)) out.push(`- **${v.finding}**: ${v.verdict}. ${v.evidence}.`);
  out.push('');
  for (const task of tasks) {
    const rs = results.filter((r) => r.cell.task === task);
    const base = rs.find((r) => r.cell.experiment === 'baseline');
    out.push(`## ${task}`, '');
    if (base) {
      out.push(`Float baseline: ${fmtRate(base)} over ${base.metrics.episodes.length} episodes; settings ${JSON.stringify(base.settings)}.`, '');
    }
    const wo = rs.filter((r) => r.cell.experiment === 'weight-only');
    if (wo.length) {
      out.push('### Weight-only', '');
      const bits = WEIGHT_BITS.filter((b) => wo.some((r) => r.cell.wbits === b));
      const rows = uniq(wo.map((r) => `${r.cell.method}|${r.cell.group}`)).map((k) => {
        const [method, g] = k.split('|');
        return [method, groupName(Number(g)), ...bits.map((b) => fmtRate(wo.find((r) => r.cell.method === method && r.cell.group === Number(g) && r.cell.wbits === b)))];
      });
      out.push(table(['method', 'weights', ...bits.map((b) => `W${b}`)], rows), '');
    }
    const wa = rs.filter((r) => r.cell.experiment === 'weight-act');
    if (wa.length) {
      out.push('### Weight-activation', '');
      const cols = WA_BITS.filter(([w, a]) => wa.some((r) => r.cell.wbits === w && r.cell.abits === a));
      const rows = uniq(wa.map((r) => `${r.cell.method}|${r.cell.act}`)).map((k) => {
        const [method, act] = k.split('|');
        return [method, act, ...cols.map(([w, a]) => fmtRate(wa.find((r) => r.cell.method === method && r.cell.act === act && r.cell.wbits === w && r.cell.abits === a)))];
      });
      out.push(table(['method', 'activations', ...cols.map(([w, a]) => `W${w}A${a}`)], rows), '');
    }
    const mod = rs.filter((r) => r.cell.experiment === 'module');
    if (mod.length) {
      out.push('### Encoder vs predictor (RTN weights, per-channel)', '');
      const bits = WEIGHT_BITS.filter((b) => mod.some((r) => r.cell.wbits === b));
      const rows = (['encoder', 'predictor'] as const).map((t) => [`${t} only`, ...bits.map((b) => fmtRate(mod.find((r) => r.cell.target === t && r.cell.wbits === b)))]);
      out.push(table(['quantized', ...bits.map((b) => `W${b}`)], rows), '');
    }
    out.push('### Cost of each configuration', '');
    out.push(
      table(
        ['cell', 'model bytes', 'ms / CEM step', 'loss/success AUC', 'success by iteration 1 / 5 / all'],
        rs.map((r) => {
          const auc = lossSuccessAuc(r);
          const by = r.metrics.success_by_iter;
          const t = timings.get(r.key);
          return [r.key, String(r.model_bytes), t ? t.ms_per_cem_step.toFixed(1) : '–', auc === null ? '–' : auc.toFixed(2), `${(by[0] ?? 0).toFixed(2)} / ${(by[4] ?? by[by.length - 1] ?? 0).toFixed(2)} / ${(by[by.length - 1] ?? 0).toFixed(2)}`];
        }),
      ),
      '',
    );
    const own = strips.filter((x) => x.task === task);
    if (own.length) {
      out.push('### Episode strips: real vs imagined', '');
      const H = (rs[0].settings.cem as { horizon?: number } | undefined)?.horizon ?? 'H';
      out.push(
        `The first plan of an episode under each configuration (float and the lowest-bit cell of each family). For each, the top row is what really happened (env renders of the goal, the start and the state after each of the ${H} world-model steps of the plan), the bottom row what the model imagined (its decoder applied to its own encodings of goal and start and to its rollout of the same plan); left, whether the episode was solved under that configuration. Rows: ${own[0].labels.join('; ')}.`,
        '',
      );
      for (const x of own) out.push(`![${task} episode ${x.episode} (seed ${x.seed})](${x.file})`, '');
    }
  }
  return out.join('\n');
}

/** Canonical order (by key), so a merged or resumed run renders the same bytes as a single one. */
function byKey(rs: readonly CellResult[]): CellResult[] {
  return [...rs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** SVG plots: success vs bits per method, success vs MPC budget, planning loss vs success. Keyed by file name. */
export function renderPlots(unordered: readonly CellResult[]): Map<string, string> {
  const results = byKey(unordered);
  const plots = new Map<string, string>();
  const tasks = [...new Set(results.map((r) => r.cell.task))];
  for (const task of tasks) {
    const rs = results.filter((r) => r.cell.task === task);
    const wo = rs.filter((r) => r.cell.experiment === 'weight-only');
    const series: Series[] = uniq(wo.map((r) => `${r.cell.method} ${groupName(r.cell.group)}`)).map((name) => ({
      name,
      points: wo
        .filter((r) => `${r.cell.method} ${groupName(r.cell.group)}` === name)
        .map((r) => [r.cell.wbits, r.metrics.success_rate] as [number, number])
        .sort((a, b) => a[0] - b[0]),
    }));
    if (series.length) plots.set(`${task}-success-vs-bits.svg`, chart(series, { title: `${task}: weight-only success vs bits`, xLabel: 'weight bits', yLabel: 'success rate', xTicks: [...WEIGHT_BITS].reverse(), yRange: [0, 1] }));
    const budget: Series[] = rs.map((r) => ({ name: cellLabel(r.cell), points: r.metrics.success_by_iter.map((v, i) => [i + 1, v] as [number, number]) }));
    const iters = Math.max(1, ...rs.map((r) => r.metrics.success_by_iter.length));
    const ticks = Array.from({ length: iters }, (_, i) => i + 1).filter((k) => iters <= 10 || k === 1 || k % 5 === 0);
    plots.set(`${task}-success-vs-budget.svg`, chart(budget.slice(0, 10), { title: `${task}: success vs MPC iteration budget`, xLabel: 'MPC iterations', yLabel: 'success rate', yRange: [0, 1], xTicks: ticks }));
    const scatter: Series[] = [
      { name: 'success', scatter: true, points: rs.flatMap((r) => r.metrics.episodes.filter((e) => e.success).map((e) => [r.cell.wbits, e.plan_loss] as [number, number])) },
      { name: 'failure', scatter: true, points: rs.flatMap((r) => r.metrics.episodes.filter((e) => !e.success).map((e) => [r.cell.wbits + 0.3, e.plan_loss] as [number, number])) },
    ];
    plots.set(`${task}-loss-vs-success.svg`, chart(scatter, { title: `${task}: planning loss per episode (paper Fig. 3)`, xLabel: 'weight bits (failures offset +0.3)', yLabel: 'final planning loss' }));
  }
  return plots;
}
