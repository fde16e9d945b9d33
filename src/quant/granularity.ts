/**
 * Granularity: which elements share one (scale, zero point).
 *
 * Every tensor is viewed as 2-D, (R, C) with C = its last dimension (a Linear weight (out, in)
 * is its own view; activations (..., C) become (N, C)). Each group is an arithmetic progression
 * of flat indices, `start[g] + k * stride` for k < count[g]:
 *
 * | kind                      | groups                | start[g]             | count    | stride |
 * |---------------------------|-----------------------|----------------------|----------|--------|
 * | per-tensor                | 1                     | 0                    | R*C      | 1      |
 * | per-channel, axis 0       | R (weight out-chans)  | g*C                  | C        | 1      |
 * | per-channel, axis 1       | C (columns)           | g                    | R        | C      |
 * | per-token (dynamic)       | R (tokens)            | g*C                  | C        | 1      |
 * | per-group 'flat' (QW)     | R*C/G                 | g*G                  | G        | 1      |
 * | per-group 'row-aligned'   | R*ceil(C/G)           | r*C + j*G            | <= G     | 1      |
 *
 * 'flat' is QuantWM's layout: W.reshape(-1, G) row-major, so when C % G != 0 a group straddles
 * two output rows (the predictor's 404-input Linears with G = 128: group 3 of row 0 holds
 * W[0, 384:404] and W[1, 0:108]). It needs R*C % G == 0, as torch's reshape does.
 * 'row-aligned' restarts groups at every row (GPTQ, ONNX blocked quantization, MatMulNBits);
 * the last group of a row is short when C % G != 0. With G = C both equal per-channel axis 0.
 */
import { ShapeError, ValueError, fmtShape } from '../tensor/errors.js';
import type { Shape } from '../tensor/tensor.js';

export type Granularity =
  | { readonly kind: 'per-tensor' }
  | { readonly kind: 'per-channel'; readonly axis: 0 | 1 }
  | { readonly kind: 'per-token' }
  | { readonly kind: 'per-group'; readonly size: number; readonly layout: 'flat' | 'row-aligned' };

export const PER_TENSOR: Granularity = Object.freeze({ kind: 'per-tensor' });
export const PER_CHANNEL: Granularity = Object.freeze({ kind: 'per-channel', axis: 0 });
export const PER_TOKEN: Granularity = Object.freeze({ kind: 'per-token' });

/** QuantWM's W_GROUP_SIZE groups (row-major flattened). */
export function flatGroups(size: number): Granularity {
  return { kind: 'per-group', size, layout: 'flat' };
}

/** Groups that restart at every row (GPTQ, ONNX block_size, MatMulNBits). */
export function rowGroups(size: number): Granularity {
  return { kind: 'per-group', size, layout: 'row-aligned' };
}

/** A short human-readable name, e.g. 'per-group(128, flat)'. */
export function granularityName(g: Granularity): string {
  switch (g.kind) {
    case 'per-tensor':
    case 'per-token':
      return g.kind;
    case 'per-channel':
      return `per-channel(axis ${g.axis})`;
    case 'per-group':
      return `per-group(${g.size}, ${g.layout})`;
  }
}

/** The groups of a tensor, each the flat indices start[g] + k*stride, k < count[g]. */
export interface GroupLayout {
  readonly granularity: Granularity;
  /** the 2-D view (R, C) */
  readonly rows: number;
  readonly cols: number;
  readonly numGroups: number;
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly stride: number;
}

/**
 * The group layout of a tensor of `shape` under `g`.
 * @param shape (..., C), at least 1-D; viewed as (R, C)
 * @throws ShapeError when flat groups do not tile R*C, or the tensor is empty
 */
export function groupLayout(shape: Shape, g: Granularity): GroupLayout {
  const where = `groupLayout(${granularityName(g)})`;
  if (shape.length === 0) throw new ShapeError(where, `needs at least a 1-D tensor, got ${fmtShape(shape)}`);
  const cols = shape[shape.length - 1];
  let n = 1;
  for (const d of shape) n *= d;
  if (n === 0) throw new ShapeError(where, `empty tensor ${fmtShape(shape)}`);
  const rows = n / cols;
  const make = (numGroups: number, stride: number, startOf: (i: number) => number, countOf: (i: number) => number): GroupLayout => {
    const start = new Int32Array(numGroups);
    const count = new Int32Array(numGroups);
    for (let i = 0; i < numGroups; i++) {
      start[i] = startOf(i);
      count[i] = countOf(i);
    }
    return Object.freeze({ granularity: g, rows, cols, numGroups, start, count, stride });
  };
  switch (g.kind) {
    case 'per-tensor':
      return make(1, 1, () => 0, () => n);
    case 'per-token':
      return make(rows, 1, (r) => r * cols, () => cols);
    case 'per-channel':
      if (g.axis === 0) return make(rows, 1, (r) => r * cols, () => cols);
      if (g.axis === 1) return make(cols, cols, (c) => c, () => rows);
      throw new ValueError(where, `axis must be 0 or 1 of the (R, C) view, got ${String((g as { axis: unknown }).axis)}`);
    case 'per-group': {
      const G = g.size;
      if (!Number.isInteger(G) || G <= 0) throw new ValueError(where, `group size must be a positive integer, got ${G}`);
      if (g.layout === 'flat') {
        if (n % G !== 0) {
          throw new ShapeError(where, `flat groups of ${G} do not tile ${fmtShape(shape)} (${n} elements, ${n % G} left over)`);
        }
        return make(n / G, 1, (i) => i * G, () => G);
      }
      if (g.layout === 'row-aligned') {
        const per = Math.ceil(cols / G);
        return make(
          rows * per,
          1,
          (i) => Math.floor(i / per) * cols + (i % per) * G,
          (i) => Math.min(G, cols - (i % per) * G),
        );
      }
      throw new ValueError(where, `unknown group layout ${String((g as { layout: unknown }).layout)}`);
    }
  }
}

/**
 * Group index of every element (an Int32Array of the tensor's size). For tests and audits;
 * the quantizers walk groups directly.
 */
export function groupIndex(layout: GroupLayout): Int32Array {
  const out = new Int32Array(layout.rows * layout.cols).fill(-1);
  for (let g = 0; g < layout.numGroups; g++) {
    for (let k = 0, i = layout.start[g]; k < layout.count[g]; k++, i += layout.stride) out[i] = g;
  }
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * QuantWM's flat groups (W.reshape(-1, G)) re-expressed EXACTLY as row-aligned groups of size
 * g = gcd(C, G), each carrying its parent flat group's (scale, zero point).
 *
 * Why it is exact: row-aligned group (r, j) covers the flat indices [rC + jg, rC + (j+1)g).
 * Its start is a multiple of g (g | C), and every flat-group boundary bG is a multiple of g
 * (g | G), so the next boundary at or after the start is at least start + g: no flat boundary
 * falls strictly inside the sub-group, which therefore lies in the single flat group
 * floor((rC + jg) / G). Every row is C/g whole sub-groups (g | C: no short group). Quantizing
 * element i with its flat group's (s, z) or with its sub-group's inherited (s, z) is the same
 * computation, so codes and x̂ are identical element for element.
 *
 * Worked: (R, C) = (32, 404), G = 128: g = 4; row 0's sub-groups 0..31 lie in flat group 0,
 * 32..63 in 1, 64..95 in 2, 96..100 (cols 384..403) in 3; row 1's sub-group 0 (flat 404..407)
 * is also in flat group 3 = [384, 512).
 *
 * @param rows R, @param cols C of the (R, C) view; R·C must be a multiple of G
 * @returns size g and parent (R·C/g, row-major): the flat group of each row-aligned group
 * @throws ShapeError when flat groups of G do not tile R·C
 */
export function flatAsRowGroups(rows: number, cols: number, G: number): { size: number; parent: Int32Array } {
  const where = `flatAsRowGroups(${G})`;
  if (!Number.isInteger(G) || G <= 0) throw new ValueError(where, `group size must be a positive integer, got ${G}`);
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) throw new ShapeError(where, `view (${rows}, ${cols}) must be positive integers`);
  if ((rows * cols) % G !== 0) throw new ShapeError(where, `flat groups of ${G} do not tile (${rows}, ${cols}) (${(rows * cols) % G} left over)`);
  const g = gcd(cols, G);
  const per = cols / g;
  const parent = new Int32Array(rows * per);
  for (let r = 0; r < rows; r++) for (let j = 0; j < per; j++) parent[r * per + j] = Math.floor((r * cols + j * g) / G);
  return { size: g, parent };
}
