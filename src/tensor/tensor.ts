import {
  allocStorage,
  getNibble,
  intRange,
  isPacked,
  setNibble,
  storageLength,
  storageMatches,
  type DType,
  type Storage,
} from './dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function numelOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(where: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(where, `invalid shape ${fmtShape(shape)}`);
  }
}

/**
 * A dense, row-major (C-contiguous) tensor over a typed array.
 *
 * Tensors are always contiguous: there are no strides. `reshape` and leading-axis `slice0`
 * are views that share `data`; everything else that changes layout copies. Ops never mutate
 * their inputs; in-place writes through `data` are the caller's own business.
 */
export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: Shape;
  readonly data: Storage;
  readonly size: number;

  constructor(dtype: D, shape: Shape, data?: Storage) {
    checkShape('Tensor', shape);
    this.dtype = dtype;
    this.shape = Object.freeze(shape.slice());
    this.size = numelOf(shape);
    if (data === undefined) {
      this.data = allocStorage(dtype, this.size);
    } else {
      if (!storageMatches(dtype, data)) {
        throw new DTypeError('Tensor', `storage ${data.constructor.name} cannot hold dtype ${dtype}`);
      }
      const want = storageLength(dtype, this.size);
      if (data.length !== want) {
        throw new ShapeError('Tensor', `shape ${fmtShape(shape)} (${dtype}) needs ${want} storage elements, got ${data.length}`);
      }
      this.data = data;
    }
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Float32 storage; throws unless dtype is f32. */
  get f32(): Float32Array {
    if (this.dtype !== 'f32') throw new DTypeError('Tensor.f32', `tensor is ${this.dtype}, not f32`);
    return this.data as Float32Array;
  }

  /** A view with a new shape (one entry may be -1). Packed dtypes keep their bytes. */
  reshape(shape: Shape): Tensor<D> {
    const where = 'reshape';
    let infer = -1;
    let known = 1;
    shape.forEach((d, i) => {
      if (d === -1) {
        if (infer >= 0) throw new ShapeError(where, `more than one -1 in ${fmtShape(shape)}`);
        infer = i;
      } else known *= d;
    });
    const out = shape.slice();
    if (infer >= 0) {
      if (known === 0 || this.size % known !== 0) {
        throw new ShapeError(where, `cannot reshape ${fmtShape(this.shape)} to ${fmtShape(shape)}`);
      }
      out[infer] = this.size / known;
    }
    if (numelOf(out) !== this.size) {
      throw new ShapeError(where, `cannot reshape ${fmtShape(this.shape)} (${this.size} elements) to ${fmtShape(shape)}`);
    }
    return new Tensor(this.dtype, out, this.data);
  }

  /** View of rows [start, end) along axis 0 (no copy). Packed dtypes need an even row length. */
  slice0(start: number, end: number): Tensor<D> {
    const where = 'slice0';
    if (this.ndim === 0) throw new ShapeError(where, 'cannot slice a scalar');
    const n = this.shape[0];
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
      throw new ValueError(where, `range [${start}, ${end}) outside axis 0 of ${fmtShape(this.shape)}`);
    }
    const row = this.size / (n || 1);
    const shape = [end - start, ...this.shape.slice(1)];
    if (isPacked(this.dtype)) {
      if (row % 2 !== 0) throw new ShapeError(where, `packed ${this.dtype} rows of odd length ${row} cannot be viewed`);
      return new Tensor(this.dtype, shape, (this.data as Uint8Array).subarray((start * row) / 2, (end * row) / 2));
    }
    return new Tensor(this.dtype, shape, this.data.subarray(start * row, end * row));
  }

  /** Element at flat index i as a number (packed nibbles unpacked, i4 sign-extended). */
  at(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) {
      throw new ValueError('Tensor.at', `index ${i} outside [0, ${this.size}) of ${fmtShape(this.shape)}`);
    }
    if (isPacked(this.dtype)) return getNibble(this.data as Uint8Array, i, this.dtype === 'i4');
    return this.data[i];
  }

  /** Element at a multi-index. */
  get(...idx: number[]): number {
    return this.at(flatIndex('Tensor.get', this.shape, idx));
  }

  /** The only value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError('item', `tensor ${fmtShape(this.shape)} has ${this.size} elements, not 1`);
    return this.at(0);
  }

  /** A deep copy with its own storage. */
  clone(): Tensor<D> {
    return new Tensor(this.dtype, this.shape, this.data.slice());
  }

  /** Values as a plain number array (packed nibbles unpacked). */
  toArray(): number[] {
    const out = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.at(i);
    return out;
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${fmtShape(this.shape)})`;
  }
}

export function flatIndex(where: string, shape: Shape, idx: readonly number[]): number {
  if (idx.length !== shape.length) {
    throw new ShapeError(where, `index of rank ${idx.length} for shape ${fmtShape(shape)}`);
  }
  let f = 0;
  for (let d = 0; d < shape.length; d++) {
    const i = idx[d];
    if (!Number.isInteger(i) || i < 0 || i >= shape[d]) {
      throw new ValueError(where, `index ${i} outside axis ${d} of ${fmtShape(shape)}`);
    }
    f = f * shape[d] + i;
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Constructors

export function zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
  return new Tensor(dtype, shape);
}

export function full(shape: Shape, value: number): Tensor<'f32'> {
  const t = new Tensor('f32', shape);
  t.data.fill(value);
  return t;
}

/** f32 tensor from numbers (rounded to float32) or a Float32Array (shared, not copied). */
export function tensor(values: ArrayLike<number> | Float32Array, shape?: Shape): Tensor<'f32'> {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return new Tensor('f32', shape ?? [data.length], data);
}

/** Integer tensor of `dtype` from numbers; values outside the dtype's range are an error. */
export function intTensor(dtype: Exclude<DType, 'f32'>, values: ArrayLike<number>, shape?: Shape): Tensor {
  const s = shape ?? [values.length];
  const t = new Tensor(dtype, s);
  if (values.length !== t.size) {
    throw new ShapeError('intTensor', `${values.length} values for shape ${fmtShape(s)}`);
  }
  const [lo, hi] = intRange(dtype);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new ValueError('intTensor', `value ${v} at ${i} is not a ${dtype} in [${lo}, ${hi}]`);
    }
    if (isPacked(dtype)) setNibble(t.data as Uint8Array, i, v);
    else t.data[i] = v;
  }
  return t;
}

export function scalar(v: number): Tensor<'f32'> {
  return tensor([v], []);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertF32(where: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32') throw new DTypeError(where, `expected f32, got ${t.dtype} ${fmtShape(t.shape)}`);
  }
}
