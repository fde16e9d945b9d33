/** Small synthetic layers for the method tests (test-only). */
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { NormRef, QuantTarget } from '../../src/quant/seam.js';

/** (rows, cols) normals with a few large-magnitude columns (activation outliers). */
export function outlierInputs(rng: Rng, rows: number, cols: number, outliers = 2, mag = 20): Tensor<'f32'> {
  const x = rng.normalTensor([rows, cols]);
  const X = x.f32;
  for (let k = 0; k < outliers; k++) {
    const c = rng.int(cols);
    for (let r = 0; r < rows; r++) X[r * cols + c] *= mag;
  }
  return x;
}

/** X = Z A: rows of correlated features (Z (N, r) normals, A (r, in) mixing), plus small noise. */
export function correlatedInputs(rng: Rng, N: number, inF: number, rank = Math.max(2, Math.floor(inF / 3))): Tensor<'f32'> {
  const Z = rng.normalTensor([N, rank]).f32;
  const A = rng.normalTensor([rank, inF]).f32;
  const out = new Float32Array(N * inF);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < inF; j++) {
      let s = 0;
      for (let k = 0; k < rank; k++) s += Z[n * rank + k] * A[k * inF + j];
      out[n * inF + j] = Math.fround(s + 0.05 * rng.normal());
    }
  }
  return new Tensor('f32', [N, inF], out);
}

export function norm(rng: Rng, name: string, D: number): NormRef {
  const w = new Float32Array(D);
  const b = new Float32Array(D);
  for (let j = 0; j < D; j++) {
    w[j] = Math.fround(1 + 0.3 * rng.normal());
    b[j] = Math.fround(0.1 * rng.normal());
  }
  return { name, weight: new Tensor('f32', [D], w), bias: new Tensor('f32', [D], b) };
}

export function target(
  rng: Rng,
  name: string,
  out: number,
  inF: number,
  extra: Partial<QuantTarget> = {},
  bias = true,
): QuantTarget {
  return {
    name,
    weight: rng.normalTensor([out, inF], 0, 1 / Math.sqrt(inF)),
    bias: bias ? rng.normalTensor([out], 0, 0.1) : null,
    module: 'encoder',
    block: 0,
    role: 'fc2',
    ...extra,
  };
}

/** A pre-LN block's four Linears: norm1 -> qkv, proj, norm2 -> fc1, fc2. */
export function toyBlock(rng: Rng, D: number, hidden: number, module: 'encoder' | 'predictor' = 'encoder', block = 0): {
  targets: QuantTarget[];
  norm1: NormRef;
  norm2: NormRef;
} {
  const p = `${module}.blocks.${block}`;
  const norm1 = norm(rng, `${p}.norm1`, D);
  const norm2 = norm(rng, `${p}.norm2`, D);
  const targets = [
    target(rng, `${p}.attn.qkv`, 3 * D, D, { module, block, role: 'qkv', prevNorm: norm1 }),
    target(rng, `${p}.attn.proj`, D, D, { module, block, role: 'proj' }),
    target(rng, `${p}.mlp.fc1`, hidden, D, { module, block, role: 'fc1', prevNorm: norm2 }),
    target(rng, `${p}.mlp.fc2`, D, hidden, { module, block, role: 'fc2' }),
  ];
  return { targets, norm1, norm2 };
}
