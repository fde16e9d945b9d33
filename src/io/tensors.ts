/**
 * Shared pieces of every reader: the listing entry, byte views of tensors, the NaN/Inf scan,
 * and the set of named tensors a weight file holds.
 */
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { NonFiniteError, type FormatLoc } from './errors.js';

/** One row of a tensor listing (what `quantwm inspect` prints). */
export interface TensorInfo {
  name: string;
  /** dtype as stored in the source file (e.g. F16, float32, i4) */
  dtype: string;
  shape: number[];
  /** elements */
  numel: number;
  /** bytes as stored in the source file */
  bytes: number;
  /** 'extra' = a plain tensor attribute of a pickled module (not in its state_dict) */
  role?: 'state' | 'extra';
}

/** A set of named tensors: a Map, or a plain record. */
export type TensorSet = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export function tensorMap(ts: TensorSet): Map<string, Tensor> {
  if (ts instanceof Map) return new Map(ts);
  return new Map(Object.entries(ts as Record<string, Tensor>));
}

/** The tensor's storage as little-endian bytes (a view, no copy). */
export function tensorBytes(t: Tensor): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Throw NonFiniteError at the first NaN/Inf of an f32 tensor. */
export function checkFinite(name: string, t: Tensor, loc: FormatLoc): void {
  if (t.dtype !== 'f32') return;
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v - v !== 0) throw new NonFiniteError(loc, name, i, v);
  }
}

/** Product of dims, or -1 if it is not a safe integer (overflow). */
export function safeNumel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

export function infoOf(name: string, t: Tensor, dtype?: string, bytes?: number): TensorInfo {
  return { name, dtype: dtype ?? (t.dtype as DType), shape: t.shape.slice(), numel: t.size, bytes: bytes ?? t.data.byteLength };
}
