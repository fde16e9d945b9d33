/**
 * Word indices of the pool's control block (i32 words in the shared heap). Written by the
 * main thread in this order for each job: CLAIM = -1, KERNEL..ARGS, DONE = 0, CLAIM = tag|0, then SEQ
 * (Atomics.store + notify). See worker-source.ts for the worker side.
 */
export const CTRL = {
  /** Job sequence number; workers Atomics.wait on it. */
  SEQ: 0,
  /** (seq & 0x7fff) << 16 | next unclaimed task index; -1 while the caller writes a job. */
  CLAIM: 1,
  /** Tasks completed in the current job; the last finisher notifies. */
  DONE: 2,
  NTASKS: 3,
  KERNEL: 4,
  EXPORT: 5,
  NARGS: 6,
  /** Byte offset of the task args: NTASKS rows of NARGS i32. */
  ARGS: 7,
  /** Byte offset / length of the kernel's module bytes (workers compile on first use). */
  BYTES: 8,
  BYTES_LEN: 9,
  /** 1 after the first failure of the job; message bytes at ERRMSG. */
  ERROR: 10,
  ERRMSG: 11,
  ERRMSG_LEN: 12,
  /** 1: workers return from main() at the next SEQ change. */
  STOP: 13,
  /** Tasks run by workers since the pool started (diagnostics: poolStats()). */
  WORKER_TASKS: 14,
} as const;

export const CTRL_WORDS = 16;
export const ERRMSG_BYTES = 1024;
/** Task indices live in 16 bits of CLAIM. */
export const MAX_TASKS = 0xffff;
