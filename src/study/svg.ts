/**
 * Minimal SVG charts (line and scatter) with axes, ticks and a legend. Deterministic output:
 * numbers are printed with fixed precision so the same results give the same bytes.
 */
export interface Series {
  name: string;
  points: [number, number][];
  /** draw markers only (scatter) */
  scatter?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xTicks?: number[];
  yRange?: [number, number];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function f(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (hi <= lo) return [lo];
  const step = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step));
  const s = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((m) => m >= step) ?? step;
  const out: number[] = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-9 * s; v += s) out.push(Math.round(v / s) * s);
  return out;
}

export function chart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 400;
  const m = { l: 60, r: 230, t: 36, b: 48 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [x0, x1] = xs.length ? [Math.min(...xs, ...(o.xTicks ?? [])), Math.max(...xs, ...(o.xTicks ?? []))] : [0, 1];
  let [y0, y1] = o.yRange ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x: number): number => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number): number => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - m.r / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`);
  out.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  for (const t of o.xTicks ?? niceTicks(x0, x1)) {
    out.push(`<line x1="${f(px(t))}" y1="${H - m.b}" x2="${f(px(t))}" y2="${H - m.b + 4}" stroke="black"/>`);
    out.push(`<text x="${f(px(t))}" y="${H - m.b + 16}" text-anchor="middle">${f(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    out.push(`<line x1="${m.l - 4}" y1="${f(py(t))}" x2="${W - m.r}" y2="${f(py(t))}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${f(py(t) + 4)}" text-anchor="end">${f(t)}</text>`);
  }
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (!s.scatter && p.length > 1) {
      out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${p.map(([x, y]) => `${f(px(x))},${f(py(y))}`).join(' ')}"/>`);
    }
    for (const [x, y] of p) out.push(`<circle cx="${f(px(x))}" cy="${f(py(y))}" r="3" fill="${c}"/>`);
    const ly = m.t + 16 * i;
    out.push(`<rect x="${W - m.r + 12}" y="${ly}" width="12" height="12" fill="${c}"/>`);
    out.push(`<text x="${W - m.r + 30}" y="${ly + 10}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
