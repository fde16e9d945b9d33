import { Bench } from 'tinybench';

/** Median wall ms (tinybench p50) and median process CPU ms (all threads) of `iters` calls after one warm-up call. */
export async function timeCalls(fn: () => unknown, iters: number): Promise<{ ms: number; cpuMs: number }> {
  const cpu: number[] = [];
  const b = new Bench({ time: 0, iterations: iters, warmup: true, warmupTime: 0, warmupIterations: 1 });
  b.add('case', () => {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  });
  await b.run();
  const r = b.tasks[0].result;
  if (!r || !('latency' in r)) throw new Error(`bench failed: ${JSON.stringify(r)}`);
  const xs = cpu.slice(-iters).sort((p, q) => p - q);
  return { ms: r.latency.p50 as number, cpuMs: xs[xs.length >> 1] };
}
