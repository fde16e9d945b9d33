/** The Node reference report for the cross-runtime tests: the suite in this process, 2 threads. */
import { nodePlatform } from '../../src/platform/node.js';
import { nodeWorkers } from '../../src/platform/workers-node.js';
import { ROOT } from './runtimes.js';
import { runPortableSuite, type SuiteReport } from './suite.js';

export function nodeReport(threads = 2): Promise<SuiteReport> {
  return runPortableSuite({
    runtime: `node ${process.version}`,
    readFixture: (name) => nodePlatform.readFile(`${ROOT}test/fixtures/portable/${name}`),
    workers: nodeWorkers,
    threads,
  });
}
