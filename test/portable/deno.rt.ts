/**
 * The portable suite on Deno (the binary from the npm package `deno`) gives bit-identical
 * outputs to Node: every output's SHA-256 is compared, and every check passes on both.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeReport } from './node-reference.js';
import { differences, failures, suiteOn, summary } from './runtimes.js';
import type { SuiteReport } from './suite.js';

let node: SuiteReport;
beforeAll(async () => {
  node = await nodeReport();
});

describe('portable suite on deno vs node', () => {
  it('deno: every output bit-identical to node, all checks pass, worker threads ran tasks', async () => {
    const other = await suiteOn('deno');
    console.log(`${summary(node)}\n${summary(other)}`);
    expect(failures(node)).toEqual([]);
    expect(failures(other)).toEqual([]);
    expect(other.outputs.length).toBeGreaterThan(60); // not vacuous
    expect(differences(node, other)).toEqual([]);
    expect(other.combined).toBe(node.combined);
    expect(other.threads).toBe(2);
    expect(other.workerTasks).toBeGreaterThan(0);
  });
});
