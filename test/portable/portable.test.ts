/**
 * The portable suite on Node, in this process (part of npm test): every check passes (kernels
 * vs their twins, the model forward vs test/fixtures/portable/forward.bin within FORWARD_BUDGET,
 * quantized forwards within their sanity bounds, finite CEM losses), and 1 and 2 threads give
 * the same bits for every output. The other runtimes are compared by the *.rt.ts tests.
 */
import { describe, expect, it } from 'vitest';
import { nodeReport } from './node-reference.js';
import { differences, failures } from './runtimes.js';
import { FORWARD_BUDGET } from './suite.js';

describe('portable suite on node', () => {
  it(`all checks pass (model vs golden within ${FORWARD_BUDGET} relative); threads 1 == 2 bit for bit`, async () => {
    const two = await nodeReport(2);
    const one = await nodeReport(1);
    expect(failures(two)).toEqual([]);
    expect(two.checks.find((c) => c.section === 'model' && c.name === 'golden')?.ok).toBe(true);
    expect(two.threads).toBe(2);
    expect(one.threads).toBe(1);
    expect(two.outputs.length).toBeGreaterThan(60);
    expect(differences(two, one)).toEqual([]);
  });
});
