/** `quantwm inspect` and `quantwm convert` end to end on the golden fixtures (temp files only). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/run.js';
import { readQwm } from '../../src/io/qwm.js';
import { FIXTURES } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'qwm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fx = (n: string): string => new URL(n, FIXTURES).pathname;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await run(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('quantwm inspect / convert', () => {
  it('inspect prints a table with the parameter count; --json gives the same listing as data', async () => {
    const t = await cli('inspect', fx('model_latest.pth'));
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/torch-zip, 89 tensors, 28,507 parameters/);
    expect(t.out).toMatch(/predictor\.transformer\.layers\.0\.0\.bias {2}\(extra\)/);
    expect(t.out).toMatch(/predictor_optimizer: accelerate\.optimizer\.AcceleratedOptimizer/);
    const j = await cli('inspect', fx('dinov2_tiny_hf.safetensors'), '--json');
    const listing = JSON.parse(j.out);
    expect(listing).toMatchObject({ format: 'safetensors', params: 16_192, metadata: { format: 'pt' } });
    expect(listing.tensors).toHaveLength(43);
  });

  it('convert writes a .qwm whose inspect shows canonical names and the config', async () => {
    const out = join(dir, 'm.qwm');
    const c = await cli('convert', fx('model_latest.pth'), out, '--encoder-heads', '2', '--predictor-heads', '2');
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/87 tensors, 28,507 parameters/);
    expect(c.out).toMatch(/left out: predictor\.transformer\.layers\.0\.0\.bias/);
    const m = readQwm(new Uint8Array(readFileSync(out)));
    expect(m.tensors.has('predictor.blocks.1.attn.to_qkv.weight')).toBe(true);
    expect(m.config).toMatchObject({ encoder: { heads: 2 }, predictor: { heads: 2, dimHead: 8 } });
    const i = await cli('inspect', out);
    expect(i.out).toMatch(/qwm, 87 tensors, 28,507 parameters/);
  });

  it('bad input exits 2 with the typed error message', async () => {
    const r = await cli('inspect', fx('malicious_system.pth'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/dangerous callables: posix\.system/);
    const u = await cli('convert', fx('views_dtypes.pth'), join(dir, 'x.qwm'));
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/no name map knows these tensors: f32, f16/);
  });
});
