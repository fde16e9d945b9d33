/**
 * The visualisation decoder (src/nn/decoder.ts) against PyTorch 1.13 (test/fixtures/decoder, made by
 * scripts/golden/decoder.py): decoder.ts's structure written as a torch module (Conv3x3 -> 2 ResBlocks
 * (ReLU, Conv3x3, ReLU, Conv1x1, + x) -> ReLU -> 3 x (ConvTranspose2d k4 s2 p1, ReLU) -> Conv1x1 to RGB),
 * latent dim 24 on a 3 x 3 grid, C = 40, stage channels 40 -> 20 -> 16 -> 16, 24 px out; weights read
 * from safetensors under the canonical names, latents given as DINO-WM's patch tokens (B, P, Dv).
 *
 * Error budget (derived in scripts/golden/decoder.py, which imports scripts/golden/model.py's error
 * model): next to the float32 forward the generator runs the same computation in float64 and carries a
 * first-order model of float32 rounding (every rounding an independent error of at most u = 2^-24
 * relative): a convolution output is a dot product of K = C_in kh kw (Conv2d) or at most 4 C_in
 * (ConvTranspose2d k4 s2) terms plus the bias, each partial sum rounded once, std <= u sqrt(K (sum
 * term^2 + y^2)), plus the input's error carried through w^2; ReLU passes sigma through (1-Lipschitz) and
 * zeroes it where the value is more than 6 sigma below 0; the residual add rounds once. sigma is that
 * model's standard deviation of (float32 - exact); two independent implementations differ by sqrt(2)
 * sigma, and the tolerance is 6 sqrt(2) sigma per element, maximised over each image row (W = 24 pixels).
 * PyTorch's own float32 output sits at max 0.48 sigma (rms 0.13) of the float64 one. Row tolerances
 * run 9.2e-6 to 4.8e-5 (images up to 3.6); ours reaches 0.07 of its row's tolerance (max |ours - torch|
 * 2.3e-6). Each deviation below lands 7e4-1.5e5 tolerances away, except float16 weights (83).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/io/safetensors.js';
import { toCanonical } from '../../src/io/names.js';
import type { DecoderConfig } from '../../src/nn/config.js';
import { Decoder, decoderChannels, decoderSpec } from '../../src/nn/decoder.js';
import { tensorFns, type Fns } from '../../src/nn/fn.js';
import type { WeightMap } from '../../src/nn/weights.js';
import { tanh } from '../../src/tensor/math.js';
import * as ops from '../../src/tensor/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';

const DIR = new URL('../fixtures/decoder/', import.meta.url);

function bytes(name: string): Uint8Array {
  const b = readFileSync(new URL(name, DIR));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const META = JSON.parse(readFileSync(new URL('golden.json', DIR), 'utf8')) as {
  format: string;
  torch: string;
  seed: number;
  latentDim: number;
  grid: number;
  decoder: DecoderConfig;
  stageChannels: number[];
  arrays: Record<string, { dtype: 'f32'; shape: number[]; offset: number; bytes: number }>;
};
const BIN = bytes('golden.bin');

function arr(name: string): Tensor<'f32'> {
  const e = META.arrays[name];
  if (!e) throw new Error(`golden.bin has no array ${name}`);
  return new Tensor('f32', e.shape, new Float32Array(BIN.slice(e.offset, e.offset + e.bytes).buffer));
}

const FILE = 'decoder.safetensors';
const MAPPED = toCanonical(readSafetensors(bytes(FILE), { file: FILE }).tensors, { file: FILE });
const WEIGHTS: WeightMap = new Map([...MAPPED.tensors].map(([n, t]) => [n, new Tensor('f32', t.shape, t.f32)]));
const DEC = new Decoder(META.decoder, META.latentDim, META.grid, WEIGHTS);

const tokens = arr('tokens');
const ref = arr('images');
const tol = arr('images_tol');
const W = ref.shape[3];

/** Largest |ours - ref| / tol[row] (row = one image row of W pixels). */
function worstRatio(ours: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < ref.size; i++) worst = Math.max(worst, Math.abs(ours[i] - ref.f32[i]) / tol.f32[Math.floor(i / W)]);
  return worst;
}

/** Fails naming the first pixel outside its row's tolerance; returns the worst ratio. */
function within(what: string, ours: Tensor<'f32'>): number {
  expect(ours.shape, `${what}: shape`).toEqual(ref.shape);
  const [, C, H] = ref.shape;
  for (let i = 0; i < ref.size; i++) {
    const d = Math.abs(ours.f32[i] - ref.f32[i]);
    const t = tol.f32[Math.floor(i / W)];
    if (!(d <= t)) {
      const b = Math.floor(i / (C * H * W));
      const c = Math.floor(i / (H * W)) % C;
      throw new Error(`${what}: image ${b} channel ${c} pixel (${Math.floor(i / W) % H}, ${i % W}): ours ${ours.f32[i]} torch ${ref.f32[i]} |diff| ${d} > tolerance ${t}`);
    }
  }
  return worstRatio(ours.f32);
}

/** Tokens (B, P, Dv) -> grid (B, Dv, g, g), row-major patches (DINO-WM's 'b (h w) c -> b c h w'). */
function grid(t: Tensor<'f32'>, transposed = false): Tensor<'f32'> {
  const g = META.grid;
  return ops.permute(t.reshape([t.shape[0], g, g, t.shape[2]]), transposed ? [0, 3, 2, 1] : [0, 3, 1, 2]) as Tensor<'f32'>;
}

describe(`golden decoder vs PyTorch ${META.torch} (${META.format}, seed ${META.seed})`, () => {
  it('the safetensors file holds exactly the canonical decoder names and shapes; stage channels follow the halving rule', () => {
    expect(MAPPED.unmapped).toEqual([]);
    const spec = decoderSpec(META.decoder, META.latentDim);
    expect([...MAPPED.tensors.keys()].sort()).toEqual(spec.map(([n]) => n).sort());
    for (const [n, s] of spec) expect(MAPPED.tensors.get(n)?.shape, n).toEqual(s);
    expect(decoderChannels(META.decoder).stages).toEqual(META.stageChannels);
    expect(META.stageChannels).toEqual([40, 20, 16, 16]); // halving, then the floor of 16
  });

  it('forwardTokens (B=2, P=9, Dv=24) -> (2, 3, 24, 24) within 6 sqrt(2) sigma of PyTorch per image row', () => {
    const ours = DEC.forwardTokens(tensorFns, tokens);
    expect(within('decoder images', ours)).toBeLessThanOrEqual(1);
  });

  it('forward on the (B, Dv, g, g) grid gives the same bits as forwardTokens', () => {
    expect(Array.from(DEC.forward(tensorFns, grid(tokens)).f32)).toEqual(Array.from(DEC.forwardTokens(tensorFns, tokens).f32));
  });

  // The budget is tight enough to see each of these deviations from the PyTorch module.
  describe('the tolerance catches deviations from the PyTorch decoder', () => {
    /** Fns whose n-th relu call (0-based, in forward order) is the identity. */
    const skipRelu = (n: number): Fns<Tensor<'f32'>> => {
      let k = 0;
      return { ...tensorFns, relu: (x) => (k++ === n ? x : tensorFns.relu(x)) };
    };
    /** A kernel read without torch's spatial flip: w[.., ky, kx] -> w[.., 3 - ky, 3 - kx]. */
    const flipped = (w: Tensor<'f32'>): Tensor<'f32'> => {
      const [a, b, kh, kw] = w.shape;
      const out = new Float32Array(w.size);
      for (let i = 0; i < a * b; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[(i * kh + y) * kw + x] = w.f32[(i * kh + (kh - 1 - y)) * kw + (kw - 1 - x)];
      return new Tensor('f32', w.shape, out);
    };
    it.each([
      // relu calls in forward order: res.0 pre-activation (0), res.0 inner (1), res.1 (2, 3), after the blocks (4), up.0..2 (5..7)
      ['res.0 without its leading ReLU (a post-activation ResBlock)', (): Tensor<'f32'> => DEC.forwardTokens(skipRelu(0), tokens)],
      ['no ReLU between the residual blocks and the upsampling', (): Tensor<'f32'> => DEC.forwardTokens(skipRelu(4), tokens)],
      ['no ReLU after the last ConvTranspose2d', (): Tensor<'f32'> => DEC.forwardTokens(skipRelu(7), tokens)],
      ['ConvTranspose2d kernels without the spatial flip', (): Tensor<'f32'> => DEC.forwardTokens({ ...tensorFns, convTranspose2d: (x, w, b, o) => ops.convTranspose2d(x, flipped(w), b, o) }, tokens)],
      ['patch tokens laid column-major on the grid', (): Tensor<'f32'> => DEC.forward(tensorFns, grid(tokens, true))],
      [
        'weights rounded to float16 (a lossy file path; relative error <= 2^-11)',
        (): Tensor<'f32'> => {
          const f16 = (x: number): number => {
            if (x === 0) return 0;
            const q = 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10);
            return Math.round(x / q) * q;
          };
          const w: WeightMap = new Map([...WEIGHTS].map(([n, t]) => [n, new Tensor('f32', t.shape, t.f32.map(f16))]));
          return new Decoder(META.decoder, META.latentDim, META.grid, w).forwardTokens(tensorFns, tokens);
        },
      ],
      ['the output squashed with tanh', (): Tensor<'f32'> => new Tensor('f32', ref.shape, DEC.forwardTokens(tensorFns, tokens).f32.map(tanh))],
    ])('%s', (_name, run) => {
      expect(worstRatio(run().f32)).toBeGreaterThan(1);
    });
  });
});
