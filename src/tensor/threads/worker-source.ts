/**
 * The worker program, as plain JavaScript source (a classic script, no imports), so one
 * string runs under worker_threads (eval), Web Workers (Blob URL), Deno and Bun alike and
 * needs no bundler or TypeScript loader. It defines `main(init)`; the platform factory
 * appends the call.
 *
 * Protocol (control block of CTRL_WORDS i32 at `init.ctrl` in the shared heap; indices in
 * control.ts): wait on SEQ; read the job (kernel id, module bytes, export index, task
 * count, args); claim task indices by CAS on CLAIM, whose high bits carry the job tag so a
 * late worker can never claim a task of a newer job (CLAIM = -1 while the caller rewrites the
 * job, so a worker that read the job's fields across a rewrite sees the tag change and skips);
 * run `export(...args[t])`; count DONE and notify the main thread after the last task. Kernels are compiled from the bytes in
 * shared memory on first use (synchronously: they are small), so no message is ever needed
 * after start-up.
 */
import { CTRL } from './control.js';

const C = JSON.stringify(CTRL);

export const WORKER_SOURCE = `
function main(init) {
  const K = ${C};
  const memory = init.memory;
  const base = init.ctrl >> 2;
  const cache = new Map();
  let i32 = new Int32Array(memory.buffer);
  let seen = -1; // a worker that starts mid-job joins that job (SEQ is never negative)
  for (;;) {
    while (Atomics.load(i32, base + K.SEQ) === seen) Atomics.wait(i32, base + K.SEQ, seen);
    seen = Atomics.load(i32, base + K.SEQ);
    i32 = new Int32Array(memory.buffer);
    if (Atomics.load(i32, base + K.STOP) !== 0) return;
    const tag = (seen & 0x7fff) << 16;
    if ((Atomics.load(i32, base + K.CLAIM) & 0xffff0000) !== tag) continue;
    const kid = i32[base + K.KERNEL];
    const nTasks = i32[base + K.NTASKS];
    const nArgs = i32[base + K.NARGS];
    const argsAt = i32[base + K.ARGS] >> 2;
    const exportAt = i32[base + K.EXPORT];
    const bytesAt = i32[base + K.BYTES];
    const bytesLen = i32[base + K.BYTES_LEN];
    // the caller sets CLAIM to -1 before rewriting the job: if the tag is still ours, every
    // field above was read before that, so they all belong to this job (never torn between two)
    if ((Atomics.load(i32, base + K.CLAIM) & 0xffff0000) !== tag) continue;
    if (nTasks === 0) continue;
    let fns = cache.get(kid);
    if (fns === undefined) {
      try {
        const bytes = new Uint8Array(memory.buffer, bytesAt, bytesLen).slice();
        const mod = new WebAssembly.Module(bytes);
        const inst = new WebAssembly.Instance(mod, { env: { memory } });
        fns = WebAssembly.Module.exports(mod).map((e) => inst.exports[e.name]);
      } catch (e) {
        fns = null;
        fail(i32, base, K, 'worker compile: ' + e);
      }
      cache.set(kid, fns);
    }
    if (fns === null) continue;
    const fn = fns[exportAt];
    for (;;) {
      const c = Atomics.load(i32, base + K.CLAIM);
      if ((c & 0xffff0000) !== tag) break;
      const t = c & 0xffff;
      if (t >= nTasks) break;
      if (Atomics.compareExchange(i32, base + K.CLAIM, c, c + 1) !== c) continue;
      try {
        const a = argsAt + t * nArgs;
        fn(...i32.subarray(a, a + nArgs));
      } catch (e) {
        fail(i32, base, K, 'worker task ' + t + ': ' + e);
      }
      Atomics.add(i32, base + K.WORKER_TASKS, 1);
      if (Atomics.add(i32, base + K.DONE, 1) + 1 === nTasks) Atomics.notify(i32, base + K.DONE);
    }
  }
}
function fail(i32, base, K, msg) {
  if (Atomics.compareExchange(i32, base + K.ERROR, 0, 1) !== 0) return;
  const b = new TextEncoder().encode(msg.slice(0, 500));
  const at = i32[base + K.ERRMSG];
  new Uint8Array(i32.buffer).set(b, at);
  Atomics.store(i32, base + K.ERRMSG_LEN, b.length);
}
`;
