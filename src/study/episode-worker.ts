/**
 * Entry module of an episode worker (started by src/platform/module-workers-*.ts): serves the
 * episodes of an EpisodeJob, one whole MPC episode per request, single-threaded until idle
 * sibling workers lend their cores (src/plan/parallel.ts).
 */
import { serveEpisodes } from '../plan/parallel.js';
import type { WorkerPort } from '../platform/types.js';
import { episodeProgram } from './episode-job.js';

export function main(port: WorkerPort): void {
  serveEpisodes(port, episodeProgram);
}
