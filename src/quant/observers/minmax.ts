/**
 * Running min-max observer (QuantWM models/ptq/observer/minmax.py): per group, the running
 * minimum and maximum over every observed tensor. For per-tensor activations QuantWM keeps
 * per-channel running values and reduces them to one scalar after every update; that is the
 * same global min and max, which is what this keeps.
 */
import { ShapeError, ValueError } from '../../tensor/errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { chooseQParams, groupMinMax, type QParams, type QRange, type ScaleRule } from '../affine.js';
import { groupLayout, granularityName, type Granularity, type GroupLayout } from '../granularity.js';

export class MinMaxObserver {
  private lo: Float32Array | null = null;
  private hi: Float32Array | null = null;
  private calls = 0;

  constructor(readonly granularity: Granularity) {
    if (granularity.kind === 'per-token') {
      throw new ValueError('MinMaxObserver', 'per-token activations are dynamic: they have no observer');
    }
  }

  /**
   * Fold x into the running per-group min and max.
   * @param x (..., C); every call must give the same number of groups
   */
  observe(x: Tensor): void {
    const layout = groupLayout(x.shape, this.granularity);
    const { min, max } = groupMinMax(x, layout);
    if (this.lo === null || this.hi === null) {
      this.lo = min;
      this.hi = max;
    } else {
      if (min.length !== this.lo.length) {
        throw new ShapeError(
          `MinMaxObserver(${granularityName(this.granularity)})`,
          `call ${this.calls + 1} has ${min.length} groups, earlier calls had ${this.lo.length}`,
        );
      }
      for (let g = 0; g < min.length; g++) {
        if (min[g] < this.lo[g]) this.lo[g] = min[g];
        if (max[g] > this.hi[g]) this.hi[g] = max[g];
      }
    }
    this.calls++;
  }

  /** Number of observed tensors. */
  get count(): number {
    return this.calls;
  }

  get min(): Float32Array {
    return this.stats().lo;
  }

  get max(): Float32Array {
    return this.stats().hi;
  }

  /** (s, z) per group from the running range; see ScaleRule for the formulas. */
  qparams(range: QRange, rule: ScaleRule): QParams {
    const { lo, hi } = this.stats();
    return chooseQParams(lo, hi, range, rule);
  }

  private stats(): { lo: Float32Array; hi: Float32Array } {
    if (this.lo === null || this.hi === null) throw new ValueError('MinMaxObserver', 'no tensor observed yet');
    return { lo: this.lo, hi: this.hi };
  }
}

/** Min and max of x per group of `layout` (a one-shot observer: data-free weight parameters). */
export function observeOnce(x: Tensor, layout: GroupLayout): { min: Float32Array; max: Float32Array } {
  return groupMinMax(x, layout);
}
