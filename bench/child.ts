import { spawnSync } from 'node:child_process';

/**
 * Run this bench file again as a child process at `threads` threads (`--child --threads N` plus
 * `extra`) and return the JSON rows it prints on stdout: onnxruntime-web fixes its thread count
 * at initialisation, so each thread count needs its own process. The child's stderr (progress)
 * passes through.
 */
export function runChild<R>(self: string, threads: number, extra: readonly string[] = []): R[] {
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', '--threads', String(threads), ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`child for threads ${threads} failed with status ${r.status}`);
  return JSON.parse(r.stdout) as R[];
}
