/**
 * A progress line on stderr with rate and ETA: redrawn in place on a TTY; when piped, one line per
 * 10% and at least one every 30 s (so logs stay readable and long jobs stay visible). Never writes to stdout, which is reserved for results.
 */
export class Progress {
  private readonly t0 = Date.now();
  private lastPct = -1;
  private lastLine = 0;
  /** `done` at the first update: a resumed job's ETA counts only the work done since */
  private base: number | null = null;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, note = ''): void {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const el = (Date.now() - this.t0) / 1000;
    if (this.base === null) this.base = Math.max(0, done - 1);
    const since = done - this.base;
    const eta = since > 0 ? (el / since) * (this.total - done) : NaN;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const line = `${this.label} [${bar}] ${done}/${this.total} ${fmtTime(el)} elapsed, ETA ${Number.isFinite(eta) ? fmtTime(eta) : '?'}${note ? `  ${note}` : ''}`;
    if (this.out.isTTY) this.out.write(`\r${line.slice(0, (this.out.columns ?? 120) - 1)}\x1b[K`);
    else {
      const pct = Math.floor(frac * 10);
      const now = Date.now();
      if (pct !== this.lastPct || done === this.total || now - this.lastLine > 30_000) {
        this.lastPct = pct;
        this.lastLine = now;
        this.out.write(`${line}\n`);
      }
    }
  }

  done(note = ''): void {
    this.update(this.total, note);
    if (this.out.isTTY) this.out.write('\n');
  }
}

/** 12.3s, 4m05s, 1h07m: rounded to the unit shown first, so 239.7 s is 4m00s, never 3m60s. */
export function fmtTime(s: number): string {
  if (s < 59.95) return `${s.toFixed(1)}s`;
  if (s < 3599.5) {
    const r = Math.round(s);
    return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  }
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
