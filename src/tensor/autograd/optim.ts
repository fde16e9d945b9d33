/**
 * AdamW (Loshchilov & Hutter), step for step as torch.optim.AdamW (1.13, amsgrad=False,
 * maximize=False): for each parameter p with gradient g, at step t,
 *
 *   p   <- p (1 - lr wd)                           decoupled weight decay, before the moments
 *   m   <- b1 m + (1 - b1) g
 *   v   <- b2 v + (1 - b2) g^2
 *   p   <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * State m, v and p are float32 (as torch); each element's update is evaluated in float64 and
 * rounded to float32 at the same three points torch stores (p after decay, m, v, p).
 * This is the one place that mutates tensors in place: p.value.data is updated, so layers that
 * hold the same Tensor see the new weights.
 */
import { ValueError } from '../errors.js';
import { pow } from '../math.js';
import { Tensor } from '../tensor.js';
import type { Var } from './var.js';

export interface AdamWOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  /** learning rate, mutable for schedules */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** steps taken (t in the bias corrections) */
  private t = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  /** @param params leaves that require grad (torch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2) */
  constructor(
    readonly params: readonly Var[],
    opts: AdamWOptions = {},
  ) {
    this.lr = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
    const bad = (v: number, lo: number, hi: number): boolean => !(v >= lo && v < hi);
    if (bad(this.lr, 0, Infinity)) throw new ValueError('AdamW', `lr must be >= 0, got ${this.lr}`);
    if (bad(this.beta1, 0, 1) || bad(this.beta2, 0, 1)) throw new ValueError('AdamW', `betas must be in [0, 1), got [${this.beta1}, ${this.beta2}]`);
    if (bad(this.eps, 0, Infinity) || bad(this.weightDecay, 0, Infinity)) throw new ValueError('AdamW', `eps and weightDecay must be >= 0`);
    for (const p of params) if (!p.requiresGrad || !p.isLeaf) throw new ValueError('AdamW', `${p} is not a leaf that requires grad`);
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
  }

  get steps(): number {
    return this.t;
  }

  /** One update of every parameter that has a gradient (parameters with grad = null are skipped, as torch). */
  step(): void {
    this.t++;
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    // pow from ../math.ts: `**` differs in the last bit between JavaScript engines
    const bc1 = 1 - pow(b1, this.t);
    const bc2sqrt = Math.sqrt(1 - pow(b2, this.t));
    const stepSize = lr / bc1;
    const decay = 1 - lr * wd;
    this.params.forEach((p, k) => {
      if (!p.grad) return;
      const P = p.value.data as Float32Array;
      const G = p.grad.data as Float32Array;
      const M = this.m[k];
      const V = this.v[k];
      for (let i = 0; i < P.length; i++) {
        const g = G[i];
        if (Number.isNaN(g)) throw new ValueError('AdamW', `NaN gradient at ${i} of ${p}`);
        P[i] = P[i] * decay;
        M[i] = b1 * M[i] + (1 - b1) * g;
        V[i] = b2 * V[i] + (1 - b2) * g * g;
        P[i] = P[i] - (stepSize * M[i]) / (Math.sqrt(V[i]) / bc2sqrt + eps);
      }
    });
  }

  /** Moments and step count, for checkpoints (arrays are copies, in `params` order). */
  exportState(): { t: number; m: Float32Array[]; v: Float32Array[] } {
    return { t: this.t, m: this.m.map((a) => a.slice()), v: this.v.map((a) => a.slice()) };
  }

  /** Restore a checkpoint made by exportState for the same parameter list. */
  importState(s: { t: number; m: readonly Float32Array[]; v: readonly Float32Array[] }): void {
    if (!Number.isInteger(s.t) || s.t < 0 || s.m.length !== this.m.length || s.v.length !== this.v.length) {
      throw new ValueError('AdamW.importState', `state for ${s.m.length} parameters, optimizer has ${this.m.length}`);
    }
    s.m.forEach((a, k) => {
      if (a.length !== this.m[k].length || s.v[k].length !== this.v[k].length) throw new ValueError('AdamW.importState', `parameter ${k}: ${a.length} moments, expected ${this.m[k].length}`);
      this.m[k].set(a);
      this.v[k].set(s.v[k]);
    });
    this.t = s.t;
  }

  /** Drop all gradients (grad = null). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}

/**
 * Rescale gradients so their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_);
 * grads are replaced, not mutated. @returns the norm before clipping
 */
export function clipGradNorm(params: readonly Var[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new ValueError('clipGradNorm', `maxNorm must be > 0, got ${maxNorm}`);
  let s = 0;
  for (const p of params) if (p.grad) for (const g of p.grad.data as Float32Array) s += g * g;
  const norm = Math.sqrt(s);
  const c = maxNorm / (norm + 1e-6);
  if (c < 1) {
    for (const p of params) {
      if (!p.grad) continue;
      const G = p.grad.data as Float32Array;
      p.grad = new Tensor('f32', p.grad.shape, G.map((g) => g * c));
    }
  }
  return norm;
}
