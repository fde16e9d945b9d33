/**
 * Name maps, config inference/checking and conversion. Full-size counts are pinned to the
 * numbers in formats-and-reliability.md §3 (ViT-S/14: 175 tensors, 22,056,576 parameters;
 * DINO-WM predictor: 69 tensors, 20,122,600; VQVAE decoder: 47 tensors, 11,715,075).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkConfig, expectedTensors, inferConfig, type WeightConfig } from '../../src/io/config.js';
import { FormatError } from '../../src/io/errors.js';
import { canonicalName, toCanonical } from '../../src/io/names.js';
import { readQwm } from '../../src/io/qwm.js';
import { convertToQwm, inspectWeights } from '../../src/io/weights.js';
import { Tensor, tensor } from '../../src/tensor/tensor.js';
import { EXPECTED, fixture } from './helpers.js';

const FULL: WeightConfig = {
  encoder: { dim: 384, depth: 12, heads: 6, patchSize: 14, inChans: 3, mlpDim: 1536, posTokens: 1370, hasMaskToken: true },
  predictor: { dim: 404, depth: 6, heads: 16, dimHead: 64, innerDim: 1024, mlpDim: 2048, numPositions: 588, numFrames: 3, numPatches: 196 },
  actionEncoder: { inDim: 10, embDim: 10 },
  proprioEncoder: { inDim: 4, embDim: 10 },
  decoder: { channel: 384, nResBlock: 4, nResChannel: 128, embDim: 384, nEmbed: 2048, inChannel: 3, upsampleStride: 4, decodeStride: 4 },
};

function count(cfg: WeightConfig, prefix: string): [number, number] {
  let n = 0;
  let p = 0;
  for (const [name, { shape }] of expectedTensors(cfg)) {
    if (!name.startsWith(prefix)) continue;
    n++;
    p += shape.reduce((a, b) => a * b, 1);
  }
  return [n, p];
}

function zerosFor(cfg: WeightConfig): Map<string, Tensor> {
  return new Map([...expectedTensors(cfg)].filter(([, e]) => !e.optional).map(([n, { shape }]) => [n, new Tensor('f32', shape)]));
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('canonical tables', () => {
  it('full-size DINO-WM parts have the published tensor and parameter counts', () => {
    expect(count(FULL, 'encoder.')).toEqual([175, 22_056_576]);
    expect(count(FULL, 'predictor.')).toEqual([69, 20_122_600]);
    expect(count(FULL, 'decoder.')).toEqual([47, 11_715_075]);
    expect(expectedTensors(FULL).get('decoder.upsample_b.blocks.6.weight')!.shape).toEqual([384, 192, 4, 4]);
    expect(expectedTensors(FULL).get('decoder.dec.blocks.8.weight')!.shape).toEqual([192, 3, 4, 4]);
    expect(expectedTensors(FULL).get('action_encoder.weight')!.shape).toEqual([10, 10]);
  });

  it('inferConfig inverts expectedTensors, and checkConfig accepts exactly the implied shapes', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.record({
          dim: fc.integer({ min: 1, max: 6 }),
          depth: fc.integer({ min: 1, max: 3 }),
          patch: fc.integer({ min: 1, max: 3 }),
          grid: fc.integer({ min: 1, max: 3 }),
          pdepth: fc.integer({ min: 1, max: 3 }),
          heads: fc.integer({ min: 1, max: 3 }),
          dimHead: fc.integer({ min: 1, max: 3 }),
          frames: fc.integer({ min: 1, max: 3 }),
          emb: fc.integer({ min: 1, max: 3 }),
          nres: fc.integer({ min: 0, max: 2 }),
          mutate: fc.nat(),
        }),
        (r) => {
          runs++;
          const dim = r.dim * 2;
          const cfg: WeightConfig = {
            encoder: { dim, depth: r.depth, heads: 2, patchSize: r.patch, inChans: 3, mlpDim: 4 * dim, posTokens: 1 + r.grid * r.grid, hasMaskToken: r.depth % 2 === 0 },
            predictor: { dim: dim + 2 * r.emb, depth: r.pdepth, heads: r.heads, dimHead: r.dimHead, innerDim: r.heads * r.dimHead, mlpDim: 5, numPositions: r.frames * r.grid * r.grid, numFrames: r.frames, numPatches: r.grid * r.grid },
            actionEncoder: { inDim: 7, embDim: r.emb },
            proprioEncoder: { inDim: 3, embDim: r.emb },
            decoder: { channel: 8, nResBlock: r.nres, nResChannel: r.nres ? 2 : 0, embDim: dim, nEmbed: 4, inChannel: 3, upsampleStride: 4, decodeStride: 2 },
          };
          const ts = zerosFor(cfg);
          const { config } = inferConfig(ts, { encoderHeads: 2, predictorHeads: r.heads, numFrames: r.frames });
          expect(config).toEqual(cfg);
          expect(() => checkConfig(cfg, ts)).not.toThrow();
          // change one tensor's shape: refused, naming it
          const names = [...ts.keys()];
          const victim = names[r.mutate % names.length];
          const t = ts.get(victim)!;
          ts.set(victim, new Tensor('f32', [...t.shape, 2]));
          expect(code(() => checkConfig(cfg, ts))).toBe('E_CONFIG');
          ts.delete(victim);
          expect(code(() => checkConfig(cfg, ts))).toBe('E_NAME');
          ts.set(victim, t);
          ts.set('predictor.blocks.99.norm1.weight', tensor([1]));
          expect(code(() => checkConfig(cfg, ts))).toBe('E_NAME');
        },
      ),
      { numRuns: 40 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it('sections must agree: predictor dim = encoder dim (+ proprio + action); heads x dimHead = innerDim', () => {
    const ts = zerosFor(FULL);
    expect(code(() => checkConfig({ ...FULL, predictor: { ...FULL.predictor!, heads: 8 } }, ts))).toBe('E_CONFIG');
    expect(code(() => checkConfig({ ...FULL, proprioEncoder: { inDim: 4, embDim: 9 } }, ts))).toBe('E_CONFIG');
    expect(code(() => checkConfig({ ...FULL, encoder: { ...FULL.encoder!, heads: 7 } }, ts))).toBe('E_CONFIG');
    expect(code(() => checkConfig({ ...FULL, decoder: { ...FULL.decoder!, decodeStride: 3 } }, ts))).toBe('E_CONFIG');
  });
});

describe('name maps', () => {
  it.each([
    ['cls_token', 'encoder.cls_token', 'hub'],
    ['blocks.11.ls2.gamma', 'encoder.blocks.11.ls2.gamma', 'hub'],
    ['patch_embed.proj.weight', 'encoder.patch_embed.weight', 'hub'],
    ['module.norm.bias', 'encoder.norm.bias', 'hub'],
    ['embeddings.position_embeddings', 'encoder.pos_embed', 'hf'],
    ['dinov2.encoder.layer.3.layer_scale1.lambda1', 'encoder.blocks.3.ls1.gamma', 'hf'],
    ['encoder.layer.0.attention.output.dense.weight', 'encoder.blocks.0.attn.proj.weight', 'hf'],
    ['layernorm.weight', 'encoder.norm.weight', 'hf'],
    ['encoder.base_model.blocks.2.mlp.fc2.bias', 'encoder.blocks.2.mlp.fc2.bias', 'dinowm'],
    ['predictor.transformer.layers.5.0.to_out.0.weight', 'predictor.blocks.5.attn.to_out.weight', 'dinowm'],
    ['transformer.layers.0.1.net.4.bias', 'predictor.blocks.0.mlp.fc2.bias', 'dinowm'],
    ['pos_embedding', 'predictor.pos_embedding', 'dinowm'],
    ['proprio_encoder.patch_embed.bias', 'proprio_encoder.bias', 'dinowm'],
    ['decoder.quantize_b.embed', 'decoder.quantize_b.embed', 'dinowm'],
    ['predictor.blocks.0.attn.to_qkv.weight', 'predictor.blocks.0.attn.to_qkv.weight', 'canonical'],
  ])('%s -> %s (%s)', (from, to, scheme) => {
    expect(canonicalName(from)).toMatchObject({ kind: 'rename', to, scheme });
  });

  it('drops and unknowns are reported, not silently kept', () => {
    expect(canonicalName('classifier.weight').kind).toBe('drop');
    expect(canonicalName('predictor.transformer.layers.0.0.bias').kind).toBe('drop');
    expect(canonicalName('register_tokens').kind).toBe('unmapped');
    const r = toCanonical(new Map([['cls_token', tensor([1])], ['head.weight', tensor([1])], ['classifier.bias', tensor([1])]]));
    expect(r.unmapped).toEqual(['head.weight']);
    expect(r.dropped.map((d) => d.name)).toEqual(['classifier.bias']);
  });

  it('refuses two sources for one canonical name, an incomplete HF q/k/v, and Conv1d weights with k != 1', () => {
    expect(code(() => toCanonical(new Map([['cls_token', tensor([1])], ['embeddings.cls_token', tensor([1])]])))).toBe('E_DUPLICATE_KEY');
    const q = new Tensor('f32', [2, 2]);
    expect(code(() => toCanonical(new Map([['encoder.layer.0.attention.attention.query.weight', q], ['encoder.layer.0.attention.attention.key.weight', q]])))).toBe('E_NAME');
    expect(code(() => toCanonical(new Map([['action_encoder.patch_embed.weight', new Tensor('f32', [4, 10, 2])]])))).toBe('E_SHAPE');
  });
});

describe('convert', () => {
  it.each(['dinov2_tiny.pth', 'dinov2_tiny_hub.safetensors', 'dinov2_tiny_hf.safetensors', 'model_latest.pth'])('%s converts to a .qwm that reads back with a checked config', (name) => {
    const { bytes, report } = convertToQwm(fixture(name), { file: name, encoderHeads: 2, predictorHeads: 2 });
    const back = readQwm(bytes);
    expect(back.tensors.size).toBe(report.tensors);
    expect((back.config as unknown as WeightConfig).encoder).toMatchObject(EXPECTED.files['model_latest.pth'].config!.encoder);
    expect(back.meta.source).toMatchObject({ file: name });
    // converting the .qwm again is the identity on tensors
    const again = readQwm(convertToQwm(bytes).bytes);
    expect([...again.tensors.keys()]).toEqual([...back.tensors.keys()]);
  });

  it('the DINO-WM checkpoint: extras and optimizers are left out and listed; heads default to dim/64 with a note', () => {
    const { report } = convertToQwm(fixture('model_latest.pth'));
    expect(report.tensors).toBe(87);
    expect(report.dropped.map((d) => d.name)).toEqual(['predictor.transformer.layers.0.0.bias', 'predictor.transformer.layers.1.0.bias']);
    expect(report.skipped.map((s) => s.path)).toEqual(['predictor_optimizer', 'decoder_optimizer']);
    expect(report.assumed.join('\n')).toMatch(/encoder\.heads = 1/);
    expect(report.config.predictor).toMatchObject({ numFrames: 2, numPatches: 4 });
  });

  it('unknown names are refused unless dropUnmapped', () => {
    const views = fixture('views_dtypes.pth');
    expect(code(() => convertToQwm(views))).toBe('E_NAME');
    expect(code(() => convertToQwm(views, { dropUnmapped: true }))).toBe('E_NAME'); // nothing left
  });

  it('inspect lists without reading values, and counts parameters per section', () => {
    const l = inspectWeights(fixture('model_latest.pth'), { file: 'm.pth' });
    expect(l.params).toBe(28_507);
    expect(l.sections).toEqual([
      { section: 'encoder', tensors: 35, params: 16_192 },
      { section: 'predictor', tensors: 25, params: 6_736 },
      { section: 'decoder', tensors: 23, params: 5_515 },
      { section: 'action_encoder', tensors: 2, params: 44 },
      { section: 'proprio_encoder', tensors: 2, params: 20 },
    ]);
    expect(l.tensors.filter((t) => t.role === 'extra')).toHaveLength(2);
  });
});
