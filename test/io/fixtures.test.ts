/**
 * Golden files written by real torch 1.13 (scripts/golden/checkpoints.py): every tensor must
 * come out bit for bit as recorded (dtype after conversion, shape, CRC-32 of all bytes, first
 * values), the three DINOv2 encodings must give identical canonical tensors, and the refused
 * files must be refused naming their dangerous globals.
 */
import { describe, expect, it } from 'vitest';
import { UnsafePickleError } from '../../src/io/errors.js';
import { inferConfig, checkConfig } from '../../src/io/config.js';
import { toCanonical } from '../../src/io/names.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { openTorch, readTorch } from '../../src/io/torch.js';
import { loadWeights } from '../../src/io/weights.js';
import { EXPECTED, fixture, matchesExpected, bytesOf } from './helpers.js';

const files = Object.entries(EXPECTED.files);

describe('golden fixtures (torch 1.13)', () => {
  it('were made by the recorded generator and are all present', () => {
    expect(EXPECTED.torch.startsWith('1.13')).toBe(true);
    expect(files.length).toBe(12);
    for (const [name] of files) expect(fixture(name).length, name).toBeGreaterThan(0);
  });

  describe.each(files.filter(([, e]) => e.tensors))('%s', (name, exp) => {
    it('loads every state tensor bit for bit, in recorded order', () => {
      const w = loadWeights(fixture(name), { file: name });
      const names = exp.tensors!.map((t) => t.name);
      // safetensors files are in the writer's order (alignment, then name); torch keeps state_dict order
      if (name.endsWith('.safetensors')) expect([...w.tensors.keys()].sort()).toEqual(names.slice().sort());
      else expect([...w.tensors.keys()]).toEqual(names);
      const problems = exp.tensors!.map((e) => matchesExpected(w.tensors.get(e.name)!, e)).filter(Boolean);
      expect(problems).toEqual([]);
      if (exp.extras) {
        expect([...w.extras.keys()].sort()).toEqual(exp.extras.map((t) => t.name).sort());
        expect(exp.extras.map((e) => matchesExpected(w.extras.get(e.name)!, e)).filter(Boolean)).toEqual([]);
      }
      if (exp.skipped) expect(w.skipped.map((s) => s.path)).toEqual(exp.skipped);
      if (exp.metadata) expect(w.metadata).toEqual(exp.metadata);
    });
  });

  it('the DINOv2 hub .pth, hub safetensors, HF safetensors and the DINO-WM encoder give identical canonical tensors', () => {
    const hub = toCanonical(readTorch(fixture('dinov2_tiny.pth')).tensors);
    const hubSt = toCanonical(readSafetensors(fixture('dinov2_tiny_hub.safetensors')).tensors);
    const hf = toCanonical(readSafetensors(fixture('dinov2_tiny_hf.safetensors')).tensors);
    const wm = toCanonical(readTorch(fixture('model_latest.pth')).tensors);
    expect(hub.schemes).toEqual(['hub']);
    expect(hf.schemes).toEqual(['hf']);
    expect(hub.tensors.size).toBe(35);
    for (const other of [hubSt, hf]) {
      expect([...other.tensors.keys()].sort()).toEqual([...hub.tensors.keys()].sort());
    }
    for (const [n, t] of hub.tensors) {
      for (const other of [hubSt.tensors, hf.tensors, wm.tensors]) {
        const u = other.get(n)!;
        expect(u.shape, n).toEqual(t.shape);
        expect(Buffer.from(bytesOf(u)).equals(Buffer.from(bytesOf(t))), n).toBe(true);
      }
    }
    // fused qkv: rows q, k, v in that order
    expect(hf.tensors.get('encoder.blocks.1.attn.qkv.weight')!.shape).toEqual([48, 16]);
    expect(hf.renamed.filter((r) => r.to === 'encoder.blocks.0.attn.qkv.weight').map((r) => r.from)).toEqual([
      'encoder.layer.0.attention.attention.query.weight',
      'encoder.layer.0.attention.attention.key.weight',
      'encoder.layer.0.attention.attention.value.weight',
    ]);
  });

  it('the DINO-WM checkpoint maps to canonical names and its config is inferred and checked', () => {
    const ck = readTorch(fixture('model_latest.pth'));
    const m = toCanonical(ck.tensors);
    expect(m.unmapped).toEqual([]);
    const exp = EXPECTED.files['model_latest.pth'];
    // renames keep values: spot-check each kind of predictor rename against its source
    const pairs: Array<[string, string]> = [
      ['predictor.transformer.layers.1.0.norm.weight', 'predictor.blocks.1.norm1.weight'],
      ['predictor.transformer.layers.1.0.to_qkv.weight', 'predictor.blocks.1.attn.to_qkv.weight'],
      ['predictor.transformer.layers.1.0.to_out.0.bias', 'predictor.blocks.1.attn.to_out.bias'],
      ['predictor.transformer.layers.0.1.net.0.bias', 'predictor.blocks.0.norm2.bias'],
      ['predictor.transformer.layers.0.1.net.1.weight', 'predictor.blocks.0.mlp.fc1.weight'],
      ['predictor.transformer.layers.0.1.net.4.weight', 'predictor.blocks.0.mlp.fc2.weight'],
      ['predictor.transformer.norm.weight', 'predictor.norm.weight'],
      ['decoder.dec.blocks.5.weight', 'decoder.dec.blocks.5.weight'],
    ];
    for (const [from, to] of pairs) expect(m.tensors.get(to), to).toBe(ck.tensors.get(from));
    const a = m.tensors.get('action_encoder.weight')!;
    expect(a.shape).toEqual([4, 10]);
    expect(a.data).toBe(ck.tensors.get('action_encoder.patch_embed.weight')!.data);
    const { config } = inferConfig(m.tensors, { encoderHeads: 2, predictorHeads: 2 });
    const want = exp.config!;
    expect(config.encoder).toMatchObject(want.encoder);
    expect(config.predictor).toMatchObject(want.predictor);
    expect(config.actionEncoder).toEqual(want.actionEncoder);
    expect(config.proprioEncoder).toEqual(want.proprioEncoder);
    expect(config.decoder).toEqual(want.decoder);
    expect(() => checkConfig(config, m.tensors)).not.toThrow();
  });

  it('the frame-causal mask is an extra (not state), recorded as in PyTorch', () => {
    const ck = openTorch(fixture('model_latest.pth'));
    expect([...ck.extras.keys()]).toEqual(['predictor.transformer.layers.0.0.bias', 'predictor.transformer.layers.1.0.bias']);
    const mask = ck.tensor('predictor.transformer.layers.0.0.bias');
    expect(mask.shape).toEqual([1, 1, 8, 8]);
    // frame(j) <= frame(i) with 4 patches per frame
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(mask.get(0, 0, i, j)).toBe(Math.floor(j / 4) <= Math.floor(i / 4) ? 1 : 0);
    // the optimizer state is never walked
    expect(ck.skipped.map((s) => s.type)).toEqual(['accelerate.optimizer.AcceleratedOptimizer', 'accelerate.optimizer.AcceleratedOptimizer']);
    expect(ck.globals).toContain('torch.optim.adamw.AdamW');
    expect(ck.globals).toContain('models.vit.ViTPredictor');
  });

  it.each(files.filter(([, e]) => e.refused))('%s is refused, naming its dangerous globals', (name, exp) => {
    let err: unknown;
    try {
      readTorch(fixture(name), { file: name });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafePickleError);
    expect((err as UnsafePickleError).globals).toEqual(exp.refused);
    expect((err as UnsafePickleError).message).toContain(exp.refused![0]);
    expect((err as UnsafePickleError).file).toBe(name);
  });

  it('an unknown class becomes an inert placeholder; strict mode refuses it', () => {
    const ck = openTorch(fixture('placeholder.pth'));
    expect(ck.skipped).toEqual([{ path: 'widget', type: 'thirdparty.things.Widget' }]);
    expect([...ck.refs.keys()]).toEqual(['plain']);
    expect(() => openTorch(fixture('placeholder.pth'), { strictGlobals: true })).toThrow(/thirdparty\.things\.Widget.*allowlist/);
    // a plain state_dict passes the strict allowlist
    expect(openTorch(fixture('dinov2_tiny.pth'), { strictGlobals: true }).refs.size).toBe(35);
  });
});
