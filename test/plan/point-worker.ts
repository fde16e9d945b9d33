/** Worker entry for the parallel evaluator's tests: serves point-env episodes. */
import { serveEpisodes } from '../../src/plan/parallel.js';
import type { WorkerPort } from '../../src/platform/types.js';
import { pointProgram } from './point-job.js';

export function main(port: WorkerPort): void {
  serveEpisodes(port, pointProgram);
}
