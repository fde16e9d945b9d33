import type { CellResult } from './results.js';

/** A finding of the QuantWM paper, judged from our numbers. */
export interface Verdict {
  finding: string;
  /** 'supported' | 'not supported' | 'mixed' | 'no data' */
  verdict: 'supported' | 'not supported' | 'mixed' | 'no data';
  /** the numbers behind the verdict, in one sentence */
  evidence: string;
}

const LOW_BITS = 4;
const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

function byKey(rs: readonly CellResult[], f: (r: CellResult) => string): Map<string, CellResult> {
  return new Map(rs.map((r) => [f(r), r]));
}

/** Compare paired cells: how many pairs does `better` win, lose, tie on success rate? */
function pairs(xs: [CellResult, CellResult][]): { wins: number; losses: number; ties: number; meanDiff: number } {
  let wins = 0;
  let losses = 0;
  let ties = 0;
  let d = 0;
  for (const [a, b] of xs) {
    const diff = a.metrics.success_rate - b.metrics.success_rate;
    d += diff;
    if (diff > 0) wins++;
    else if (diff < 0) losses++;
    else ties++;
  }
  return { wins, losses, ties, meanDiff: xs.length ? d / xs.length : 0 };
}

/** 'supported' when the first of each pair wins at least once and never loses. */
function judgePairs(finding: string, what: string, xs: [CellResult, CellResult][]): Verdict {
  if (xs.length === 0) return { finding, verdict: 'no data', evidence: `no paired cells for ${what}` };
  const p = pairs(xs);
  const evidence = `${what}: better in ${p.wins}, worse in ${p.losses}, equal in ${p.ties} of ${xs.length} paired cells; mean success difference ${p.meanDiff >= 0 ? '+' : ''}${pct(p.meanDiff)}`;
  let verdict: Verdict['verdict'];
  if (p.wins > 0 && p.losses > 0) verdict = 'mixed';
  else if (p.wins > 0) verdict = 'supported';
  else verdict = 'not supported';
  return { finding, verdict, evidence };
}

/** F1: group-wise weights stabilise low-bit rollouts (group vs per-channel, same method and bits <= 4). */
export function groupFinding(rs: readonly CellResult[]): Verdict {
  const wo = rs.filter((r) => r.cell.experiment === 'weight-only' && r.cell.wbits <= LOW_BITS);
  const pc = byKey(wo.filter((r) => r.cell.group < 0), (r) => `${r.cell.task}/${r.cell.method}/${r.cell.wbits}`);
  const xs: [CellResult, CellResult][] = [];
  for (const r of wo) {
    if (r.cell.group < 0) continue;
    const b = pc.get(`${r.cell.task}/${r.cell.method}/${r.cell.wbits}`);
    if (b) xs.push([r, b]);
  }
  return judgePairs('F1 group-wise weight quantization stabilises low-bit planning', `group-wise vs per-channel at <= ${LOW_BITS} bits`, xs);
}

/** F2: per-token activation quantization helps inconsistently (per-token vs per-tensor, same method and bits). */
export function actFinding(rs: readonly CellResult[]): Verdict {
  const wa = rs.filter((r) => r.cell.experiment === 'weight-act');
  const pt = byKey(wa.filter((r) => r.cell.act === 'per-tensor'), (r) => `${r.cell.task}/${r.cell.method}/${r.cell.wbits}/${r.cell.abits}`);
  const xs: [CellResult, CellResult][] = [];
  for (const r of wa) {
    if (r.cell.act !== 'per-token') continue;
    const b = pt.get(`${r.cell.task}/${r.cell.method}/${r.cell.wbits}/${r.cell.abits}`);
    if (b) xs.push([r, b]);
  }
  const v = judgePairs('F2 per-token activation granularity helps only inconsistently', 'per-token vs per-tensor activations', xs);
  // The claim is inconsistency: per-token winning some pairs and losing others supports it; a one-sided result refutes it.
  const flip: Record<Verdict['verdict'], Verdict['verdict']> = { mixed: 'supported', supported: 'not supported', 'not supported': 'not supported', 'no data': 'no data' };
  return { ...v, verdict: flip[v.verdict] };
}

/** F3: the encoder is far more sensitive than the predictor (encoder-only vs predictor-only at equal bits). */
export function moduleFinding(rs: readonly CellResult[]): Verdict {
  const finding = 'F3 the encoder is more sensitive to quantization than the predictor';
  const mod = rs.filter((r) => r.cell.experiment === 'module');
  const pred = byKey(mod.filter((r) => r.cell.target === 'predictor'), (r) => `${r.cell.task}/${r.cell.wbits}`);
  const xs: [CellResult, CellResult][] = [];
  for (const r of mod) {
    if (r.cell.target !== 'encoder') continue;
    const p = pred.get(`${r.cell.task}/${r.cell.wbits}`);
    if (p) xs.push([p, r]); // predictor-only doing better means the encoder is the sensitive one
  }
  return judgePairs(finding, 'predictor-only vs encoder-only quantization (higher = encoder more sensitive)', xs);
}

/**
 * Probability that a successful episode has a lower planning loss than a failed one (ROC AUC of
 * -loss for success; 0.5 = no link). Undefined when all episodes succeed or all fail.
 */
export function lossSuccessAuc(r: CellResult): number | null {
  const eps = r.metrics.episodes;
  const ok = eps.filter((e) => e.success).map((e) => e.plan_loss);
  const bad = eps.filter((e) => !e.success).map((e) => e.plan_loss);
  if (ok.length === 0 || bad.length === 0) return null;
  let s = 0;
  for (const a of ok) for (const b of bad) s += a < b ? 1 : a === b ? 0.5 : 0;
  return s / (ok.length * bad.length);
}

/** F4: low bits break the link between planning objective and success (loss/success AUC, float vs <= 4-bit cells). */
export function linkFinding(rs: readonly CellResult[]): Verdict {
  const finding = 'F4 low-bit quantization weakens the link between planning loss and task success';
  const hi = rs.filter((r) => r.cell.wbits >= 8).map(lossSuccessAuc).filter((x): x is number => x !== null);
  const lo = rs.filter((r) => r.cell.wbits <= LOW_BITS).map(lossSuccessAuc).filter((x): x is number => x !== null);
  if (hi.length === 0 || lo.length === 0) {
    return { finding, verdict: 'no data', evidence: `loss/success AUC defined for ${hi.length} cells at >= 8 bits and ${lo.length} at <= ${LOW_BITS} bits (needs both successes and failures in a cell)` };
  }
  const m = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const a = m(hi);
  const b = m(lo);
  const evidence = `mean AUC(success | lower planning loss) ${a.toFixed(2)} over ${hi.length} cells at >= 8 bits vs ${b.toFixed(2)} over ${lo.length} cells at <= ${LOW_BITS} bits`;
  const verdict = b < a - 0.05 ? 'supported' : b > a + 0.05 ? 'not supported' : 'mixed';
  return { finding, verdict, evidence };
}

export function allVerdicts(rs: readonly CellResult[]): Verdict[] {
  return [groupFinding(rs), actFinding(rs), moduleFinding(rs), linkFinding(rs)];
}
