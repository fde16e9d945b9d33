import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactConfig } from '../../src/nn/compact.js';
import type { DecoderConfig, WorldModelConfig } from '../../src/nn/config.js';
import { Decoder, decoderChannels, decoderOutputSize, decoderSpec, imageToU8, initDecoderWeights } from '../../src/nn/decoder.js';
import { tensorFns } from '../../src/nn/fn.js';
import { loadWorldModel, saveWorldModel } from '../../src/nn/model-file.js';
import { varFns } from '../../src/nn/var-fns.js';
import { initWeights } from '../../src/nn/weights.js';
import { WorldModel, worldModelSpec } from '../../src/nn/world-model.js';
import * as ag from '../../src/tensor/autograd/index.js';
import { ShapeError, ValueError } from '../../src/tensor/errors.js';
import { toFloatImage } from '../../src/tensor/ops/image.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';

const stats = { proprioMean: new Float32Array(2), proprioStd: Float32Array.of(1, 1), actionMean: new Float32Array(2), actionStd: Float32Array.of(1, 1) };

/** 16 px frames, 8 px patches (g = 2), Dv = 8; with a decoder of 3 stages: 2 * 2^3 = 16 px out. */
function tinyModel(decoder: DecoderConfig | null, withWeights = true): WorldModel {
  const cfg: WorldModelConfig = { ...compactConfig('tiny', { proprioDim: 2, numFrames: 1, imageSize: 16, patchSize: 8, dim: 8 }), decoder };
  const w = initWeights(worldModelSpec(cfg), new Rng(1));
  if (decoder && withWeights) for (const [n, t] of initDecoderWeights(decoder, 8, new Rng(2))) w.set(n, t);
  return new WorldModel(cfg, w, stats);
}

describe('decoder layout', () => {
  it('channels halve per stage down to min(C, 16); residual width C/2', () => {
    expect(decoderChannels({ channels: 64, stages: 4 })).toEqual({ hidden: 64, res: 32, stages: [64, 32, 16, 16, 16] });
    expect(decoderChannels({ channels: 8, stages: 2 })).toEqual({ hidden: 8, res: 4, stages: [8, 8, 8] });
    expect(decoderChannels({ channels: 1, stages: 1 })).toEqual({ hidden: 1, res: 1, stages: [1, 1] });
    expect(decoderOutputSize({ channels: 64, stages: 4 }, 4)).toBe(64);
    expect(decoderOutputSize({ channels: 64, stages: 4 }, 14)).toBe(224); // DINO-WM's 14x14 grid -> 224 px
  });
  it('canonical names and shapes (spec order = Decoder.tensors order)', () => {
    const spec = decoderSpec({ channels: 64, stages: 2 }, 48);
    expect(spec.map(([n, s]) => `${n} ${s.join('x')}`)).toEqual([
      'decoder.conv_in.weight 64x48x3x3',
      'decoder.conv_in.bias 64',
      'decoder.res.0.conv1.weight 32x64x3x3',
      'decoder.res.0.conv1.bias 32',
      'decoder.res.0.conv2.weight 64x32x1x1',
      'decoder.res.0.conv2.bias 64',
      'decoder.res.1.conv1.weight 32x64x3x3',
      'decoder.res.1.conv1.bias 32',
      'decoder.res.1.conv2.weight 64x32x1x1',
      'decoder.res.1.conv2.bias 64',
      'decoder.up.0.weight 64x32x4x4',
      'decoder.up.0.bias 32',
      'decoder.up.1.weight 32x16x4x4',
      'decoder.up.1.bias 16',
      'decoder.conv_out.weight 3x16x1x1',
      'decoder.conv_out.bias 3',
    ]);
    const w = initDecoderWeights({ channels: 64, stages: 2 }, 48, new Rng(0));
    const d = new Decoder({ channels: 64, stages: 2 }, 48, 4, w);
    expect(d.tensors()).toEqual(spec.map(([n]) => w.get(n)));
  });
  it("init is torch's Conv default: |v| <= 1/sqrt(fan_in), fan_in = shape[1] kh kw (also for ConvTranspose), seeded", () => {
    const c = { channels: 16, stages: 2 };
    const a = initDecoderWeights(c, 8, new Rng(7));
    const b = initDecoderWeights(c, 8, new Rng(7));
    for (const [n, s] of decoderSpec(c, 8)) {
      const ws = decoderSpec(c, 8).find(([m]) => m === n.replace(/bias$/, 'weight'))![1];
      const bound = 1 / Math.sqrt(ws[1] * ws[2] * ws[3]);
      const t = a.get(n)!;
      expect(t.shape).toEqual(s);
      expect(Math.max(...t.f32.map(Math.abs))).toBeLessThanOrEqual(bound);
      // not degenerate: the spread reaches a quarter of the bound
      expect(Math.max(...t.f32.map(Math.abs))).toBeGreaterThan(bound / 4);
      expect(Array.from(b.get(n)!.f32)).toEqual(Array.from(t.f32));
    }
  });
  it('bad configs and shapes are typed errors naming the field / both shapes', () => {
    expect(() => decoderChannels({ channels: 0, stages: 1 })).toThrow(ValueError);
    expect(() => decoderChannels({ channels: 8, stages: 1.5 })).toThrow(/stages/);
    const w = initDecoderWeights({ channels: 4, stages: 1 }, 3, new Rng(0));
    const d = new Decoder({ channels: 4, stages: 1 }, 3, 2, w);
    expect(() => d.forward(tensorFns, new Tensor('f32', [1, 3, 3, 2]))).toThrow(ShapeError);
    expect(() => d.forwardTokens(tensorFns, new Tensor('f32', [1, 4, 2]))).toThrow(/tokens must be \(B, 4, 3\)/);
    w.delete('decoder.up.0.bias');
    expect(() => new Decoder({ channels: 4, stages: 1 }, 3, 2, w)).toThrow(/decoder\.up\.0\.bias/);
  });
});

describe('decoder forward', () => {
  it('tensor forward equals the Var forward bit for bit (any size, batch, latents)', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.record({ C: fc.integer({ min: 1, max: 12 }), stages: fc.integer({ min: 0, max: 3 }), Dv: fc.integer({ min: 1, max: 6 }), g: fc.integer({ min: 1, max: 3 }), B: fc.integer({ min: 1, max: 3 }), seed: fc.nat() }),
        ({ C, stages, Dv, g, B, seed }) => {
          const c = { channels: C, stages };
          const d = new Decoder(c, Dv, g, initDecoderWeights(c, Dv, new Rng(seed)));
          const z = new Rng(seed + 1).normalTensor([B, g * g, Dv]);
          const a = d.forwardTokens(tensorFns, z);
          const v = d.forwardTokens(varFns(new ag.ParamSet(true)), ag.constant(z));
          const S = g * 2 ** stages;
          expect(a.shape).toEqual([B, 3, S, S]);
          expect(Array.from(v.value.f32)).toEqual(Array.from(a.f32));
          runs++;
        },
      ),
      { numRuns: 15 },
    );
    expect(runs).toBeGreaterThan(0);
  });
  it('tokens are laid on the grid row-major: token r g + c feeds pixel block (r, c)', () => {
    // one stage, channels 1: zero all weights except an identity-ish path, then a single hot token
    const c = { channels: 1, stages: 0 };
    const w = initDecoderWeights(c, 1, new Rng(0));
    for (const t of w.values()) t.f32.fill(0);
    w.get('decoder.conv_in.weight')!.f32[4] = 1; // centre tap of the 3x3
    w.get('decoder.conv_out.weight')!.f32.fill(1); // every colour = the hidden channel
    const d = new Decoder(c, 1, 3, w);
    const z = new Tensor('f32', [1, 9, 1]);
    z.f32[5] = 2; // row 1, col 2
    const y = d.forwardTokens(tensorFns, z);
    const hot = Array.from(y.f32.subarray(0, 9)).map((v, i) => (v !== 0 ? i : -1)).filter((i) => i >= 0);
    expect(hot).toEqual([5]);
    expect(y.f32[5]).toBe(2);
  });
});

describe('imageToU8 (the inverse of toFloatImage)', () => {
  it('round-trips all 256 byte values through [-1, 1]', () => {
    const u8 = new Tensor('u8', [1, 16, 16, 3], Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)));
    expect(Array.from(imageToU8(toFloatImage(u8)).data)).toEqual(Array.from(u8.data));
  });
  it('CHW -> HWC, ties to even (x = 0 -> 127.5 -> 128), clamps out-of-range values, refuses NaN', () => {
    const x = new Tensor('f32', [1, 3, 1, 2], Float32Array.of(0, -1, 1, 3, -2, -0.5));
    expect(Array.from(imageToU8(x).data)).toEqual([128, 255, 0, 0, 255, 64]); // -0.5 -> 63.75 -> 64
    expect(imageToU8(x).shape).toEqual([1, 1, 2, 3]);
    expect(() => imageToU8(new Tensor('f32', [1, 3, 1, 1], Float32Array.of(0, NaN, 0)))).toThrow(/NaN at image 0, channel 1/);
    expect(() => imageToU8(new Tensor('f32', [1, 4, 1, 1]))).toThrow(ShapeError);
  });
});

describe('WorldModel.decode', () => {
  it('(B, P*Dv) and (B, P, Dv) latents -> u8 (B, S, S, 3), the same images either way', () => {
    const m = tinyModel({ channels: 8, stages: 3 });
    expect(m.decoder).not.toBeNull();
    const z = new Rng(4).normalTensor([3, m.visualSize]);
    const a = m.decode(z);
    expect(a.dtype).toBe('u8');
    expect(a.shape).toEqual([3, 16, 16, 3]);
    expect(Array.from(m.decode(z.reshape([3, m.P, m.Dv])).data)).toEqual(Array.from(a.data));
    // the bytes are the Decoder's float output converted
    expect(Array.from(imageToU8(m.decoder!.forwardTokens(tensorFns, z.reshape([3, m.P, m.Dv]))).data)).toEqual(Array.from(a.data));
  });
  it('without a decoder (config null, or weights absent) decode is a ValueError; wrong shapes a ShapeError', () => {
    expect(tinyModel(null).decoder).toBeNull();
    expect(tinyModel({ channels: 8, stages: 3 }, false).decoder).toBeNull();
    expect(() => tinyModel(null).decode(new Tensor('f32', [1, 32]))).toThrow(/no decoder/);
    const m = tinyModel({ channels: 8, stages: 3 });
    expect(() => m.decode(new Tensor('f32', [1, 31]))).toThrow(/visual must be f32 \(B, 32\) or \(B, 4, 8\)/);
  });
  it('a saved model keeps its decoder config and weights', () => {
    const m = tinyModel({ channels: 8, stages: 3 });
    const { model } = loadWorldModel(saveWorldModel(m));
    expect(model.config.decoder).toEqual({ channels: 8, stages: 3 });
    const z = new Rng(5).normalTensor([2, m.visualSize]);
    expect(Array.from(model.decode(z).data)).toEqual(Array.from(m.decode(z).data));
  });
});
