/**
 * Helpers of the cross-runtime tests (*.rt.ts): run the portable suite on a runtime and
 * compare two reports output by output. Every wait is bounded; a child that overruns is killed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SuiteReport } from './suite.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** The runtimes' binaries, from the npm packages bun and deno (node_modules/.bin). */
export function binary(name: 'deno' | 'bun' | 'tsx'): string {
  const p = `${ROOT}node_modules/.bin/${name}`;
  if (!existsSync(p)) throw new Error(`${p} is missing: run npm ci (the ${name} package ships the binary)`);
  return p;
}

/** The command line that runs the suite's main.ts on each runtime. */
export function suiteCommand(runtime: 'node' | 'deno' | 'bun', extra: string[] = []): string[] {
  switch (runtime) {
    case 'deno':
      return [binary('deno'), 'run', '--sloppy-imports', '--no-lock', '--no-prompt', '--allow-read', '--allow-env', MAIN, ...extra];
    case 'bun':
      return [binary('bun'), MAIN, ...extra];
    case 'node':
      return [binary('tsx'), MAIN, ...extra];
  }
}

/** Run a command with a time limit; resolves with its output (never rejects on exit code). */
export function runBounded(cmd: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd[0], cmd.slice(1), {
      cwd: ROOT,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', QWM_THREADS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, timedOut });
    });
  });
}

/** Run the suite on Node, Deno or Bun in a child process and parse its report. */
export async function suiteOn(runtime: 'node' | 'deno' | 'bun', extra: string[] = [], timeoutMs = 180_000): Promise<SuiteReport> {
  const r = await runBounded(suiteCommand(runtime, ['--quiet', ...extra]), timeoutMs);
  const line = r.stdout.split('\n').find((l) => l.startsWith('QWM_PORTABLE '));
  if (r.timedOut || !line) {
    throw new Error(`${runtime}: ${r.timedOut ? `killed after ${timeoutMs} ms` : `exit ${r.code} without a report`}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`);
  }
  return JSON.parse(line.slice('QWM_PORTABLE '.length)) as SuiteReport;
}

/** Outputs whose hashes differ (or exist on one side only), as readable lines. */
export function differences(ref: SuiteReport, other: SuiteReport): string[] {
  const key = (o: { section: string; name: string }): string => `${o.section}/${o.name}`;
  const a = new Map(ref.outputs.map((o) => [key(o), o.sha256]));
  const b = new Map(other.outputs.map((o) => [key(o), o.sha256]));
  const out: string[] = [];
  for (const [k, h] of a) {
    const g = b.get(k);
    if (g === undefined) out.push(`${k}: missing on ${other.runtime}`);
    else if (g !== h) out.push(`${k}: ${ref.runtime} ${h.slice(0, 16)} != ${other.runtime} ${g.slice(0, 16)}`);
  }
  for (const k of b.keys()) if (!a.has(k)) out.push(`${k}: only on ${other.runtime}`);
  return out;
}

/** Failed checks of a report, as readable lines. */
export function failures(r: SuiteReport): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${r.runtime} ${c.section}/${c.name}: ${c.detail}`);
}

/** One line per runtime for the test log. */
export function summary(r: SuiteReport): string {
  return `${r.runtime.padEnd(26)} threads ${r.threads} (workers ran ${r.workerTasks} tasks), ${r.outputs.length} outputs, combined ${r.combined.slice(0, 16)}, ${r.seconds.toFixed(1)} s; engine-dependent (not compared): ${Object.entries(r.info).map(([k, v]) => `${k} ${v.slice(0, 8)}`).join(', ')}`;
}
