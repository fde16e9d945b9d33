import { ShapeError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { gemmPacked, packB, type PackedF32 } from '../tensor/wasm/index.js';
import { backend } from '../tensor/backend.js';
import { linear } from '../tensor/ops/matmul.js';
import { allocF32, heapPtr } from '../tensor/fast/stage.js';
import type { Fns } from './fn.js';

/**
 * What replaces a Linear's float computation: fake-quant or integer kernels (src/quant provides
 * them; nn never imports quant). Input and output are 2-D: x (rows, in) -> (rows, out).
 */
export interface LinearImpl {
  readonly kind: string;
  forward(x: Tensor<'f32'>): Tensor<'f32'>;
}

/** Observes a Linear's input (rows, in) during calibration. */
export type LinearObserver = (x: Tensor<'f32'>) => void;

/**
 * The one seam between nn and quantization. Every Linear of the model is one of these, found by
 * name through WorldModel.linears(). When `impl` is set and no gradient is needed, forward
 * delegates to it; `observer`, when set, sees every input first.
 */
export class Linear {
  impl: LinearImpl | null = null;
  observer: LinearObserver | null = null;
  /** float weights packed for the SIMD GEMM, made on first inference use; dropped by any training forward */
  private packed: PackedF32 | null = null;
  constructor(
    readonly name: string,
    /** (out, in) */
    public weight: Tensor<'f32'>,
    /** (out) or null */
    public bias: Tensor<'f32'> | null,
  ) {
    if (weight.ndim !== 2) throw new ShapeError(name, `weight must be (out, in), got ${fmtShape(weight.shape)}`);
    if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])) {
      throw new ShapeError(name, `bias ${fmtShape(bias.shape)} does not match weight ${fmtShape(weight.shape)}`);
    }
  }
  get inFeatures(): number {
    return this.weight.shape[1];
  }
  get outFeatures(): number {
    return this.weight.shape[0];
  }

  /** @param x (..., in) -> (..., out) */
  forward<T>(F: Fns<T>, x: T): T {
    const s = F.shape(x);
    if (s[s.length - 1] !== this.inFeatures) {
      throw new ShapeError(this.name, `input ${fmtShape(s)} does not end in in_features ${this.inFeatures}`);
    }
    if (this.observer || this.impl) {
      const rows = s.slice(0, -1).reduce((a, b) => a * b, 1);
      const x2 = F.value(x).reshape([rows, this.inFeatures]);
      // an observer may keep what it sees: never hand it arena memory (../tensor/fast/stage.ts)
      if (this.observer) this.observer(heapPtr(x2.f32) >= 0 ? new Tensor('f32', x2.shape, x2.f32.slice()) : x2);
      if (this.impl && !F.differentiable) {
        return F.constant(this.impl.forward(x2).reshape([...s.slice(0, -1), this.outFeatures]));
      }
    }
    if (F.differentiable) {
      // weights may change after this forward (an optimizer step): forget the packed copy
      this.dropPacked();
      return F.linear(x, F.param(this.weight), this.bias ? F.param(this.bias) : null);
    }
    return F.constant(this.inferF32(F.value(x)));
  }

  /** Float inference on packed weights (bit-identical to ops.linear on the wasm backend). */
  private inferF32(x: Tensor<'f32'>): Tensor<'f32'> {
    const N = this.outFeatures;
    const K = this.inFeatures;
    const rows = x.size / K;
    if (backend().name === 'ref' || rows * N * K < 4096) {
      return linear(x, this.weight, this.bias);
    }
    this.packed ??= packB(this.weight.f32, N, K, true);
    const out = allocF32(rows * N);
    gemmPacked(x.f32, this.packed, this.bias ? this.bias.f32 : null, out);
    return new Tensor('f32', [...x.shape.slice(0, -1), N], out);
  }

  /** Release the packed weights (call after changing `weight` in place). */
  dropPacked(): void {
    this.packed?.free();
    this.packed = null;
  }
}
