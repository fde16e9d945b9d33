/**
 * One Var per parameter tensor: layers ask for `params.of(weight)` on every forward and get the
 * same Var back, so gradients accumulate on it and the optimizer updates the tensor the layer
 * holds. Tensors not registered yet become Vars on first use.
 */
import type { Tensor } from '../tensor.js';
import { Var } from './var.js';

export class ParamSet {
  private readonly map = new Map<Tensor<'f32'>, Var>();

  /** @param requiresGrad false for a frozen model (e.g. the planner differentiates w.r.t. inputs only) */
  constructor(readonly requiresGrad = true) {}

  /** The Var of parameter tensor t (created on first use). */
  of(t: Tensor<'f32'>, name?: string): Var {
    let v = this.map.get(t);
    if (!v) {
      v = new Var(t, this.requiresGrad, null, name);
      this.map.set(t, v);
    }
    return v;
  }

  /** Every Var handed out so far, in first-use order (what an optimizer takes). */
  vars(): Var[] {
    return [...this.map.values()];
  }

  /** Set every grad to null. */
  zeroGrad(): void {
    for (const v of this.map.values()) v.grad = null;
  }
}
