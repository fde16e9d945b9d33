import type { Dataset } from '../env/dataset/dataset.js';
import { makeEnv } from '../env/registry.js';
import { Tensor } from '../tensor/tensor.js';

/** Datasets keep states, not pixels: frames are rendered on demand (deterministic bits). */
export function renderStates(ds: Dataset, rows: ArrayLike<number>, size: number): Tensor<'u8'> {
  const env = makeEnv(ds.env, { ...ds.envParams, imageSize: size });
  const S = ds.stateDim;
  const px = size * size * 3;
  const out = new Uint8Array(rows.length * px);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out.set(env.render(ds.states.subarray(r * S, (r + 1) * S), size), i * px);
  }
  return new Tensor('u8', [rows.length, size, size, 3], out);
}

/** Total state rows of a dataset. */
export function stateRows(ds: Dataset): number {
  return ds.states.length / ds.stateDim;
}
