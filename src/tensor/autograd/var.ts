/**
 * The autograd value: a Tensor plus, when it needs a gradient, the node that made it.
 *
 * The graph is dynamic (define-by-run, like PyTorch): each differentiable function computes
 * its value with the reference ops and, only if gradient recording is on and some input
 * requires a gradient, attaches a Node holding its inputs and a backward closure. When nothing
 * requires a gradient (inference, or inside noGrad) no node, closure or extra copy is made, so
 * the same forward code costs what the plain ops cost. `backward` (./backward.ts) walks the
 * nodes from the loss in reverse topological order: the tape is the graph itself.
 */
import { ValueError, fmtShape } from '../errors.js';
import type { Shape, Tensor } from '../tensor.js';

/** Gradients of a node's output w.r.t. each input (null: that input needs none). */
export type BackwardFn = (grad: Tensor<'f32'>) => readonly (Tensor<'f32'> | null)[];

/** @internal how a non-leaf Var was made. */
export interface Node {
  readonly op: string;
  readonly inputs: readonly Var[];
  readonly backward: BackwardFn;
}

let seq = 0;

export class Var {
  /** the forward value (never mutated by autograd; optimizers update leaf values in place) */
  value: Tensor<'f32'>;
  /** accumulated d loss / d this, for leaves that require grad; null until a backward reaches it */
  grad: Tensor<'f32'> | null = null;
  /** true for parameters/inputs we differentiate w.r.t., and for anything computed from them */
  readonly requiresGrad: boolean;
  /** @internal the creating node; null for leaves and for untracked results */
  readonly node: Node | null;
  /** @internal creation order, used to make backward's visiting order deterministic */
  readonly id: number;
  /** optional label for error messages and debugging */
  name: string | undefined;

  constructor(value: Tensor<'f32'>, requiresGrad = false, node: Node | null = null, name?: string) {
    if (value.dtype !== 'f32') throw new ValueError('Var', `value must be f32, got ${value.dtype} ${fmtShape(value.shape)}`);
    this.value = value;
    this.requiresGrad = requiresGrad;
    this.node = node;
    this.id = seq++;
    this.name = name;
  }

  get shape(): Shape {
    return this.value.shape;
  }
  get ndim(): number {
    return this.value.ndim;
  }
  get size(): number {
    return this.value.size;
  }
  /** A leaf: made by param/constant (or untracked), not by a recorded op. */
  get isLeaf(): boolean {
    return this.node === null;
  }
  /** The one value of a one-element Var. */
  item(): number {
    return this.value.item();
  }
  toString(): string {
    return `Var(${this.name ?? this.node?.op ?? 'leaf'}, ${fmtShape(this.shape)}${this.requiresGrad ? ', grad' : ''})`;
  }
}

/** A leaf that requires a gradient (a trainable parameter or an input being optimized). */
export function param(t: Tensor<'f32'>, name?: string): Var {
  return new Var(t, true, null, name);
}

/** A leaf that does not require a gradient. */
export function constant(t: Tensor<'f32'>, name?: string): Var {
  return new Var(t, false, null, name);
}

let noGradDepth = 0;

/** Is recording on (false inside noGrad)? */
export function isGradEnabled(): boolean {
  return noGradDepth === 0;
}

/** Run fn with recording off: every result is an untracked constant. Nests; restores on throw. */
export function noGrad<R>(fn: () => R): R {
  noGradDepth++;
  try {
    return fn();
  } finally {
    noGradDepth--;
  }
}

/** Should an op on these inputs record a node? */
export function tracks(...xs: readonly (Var | null | undefined)[]): boolean {
  if (noGradDepth > 0) return false;
  for (const x of xs) if (x && x.requiresGrad) return true;
  return false;
}

/** A recorded result. Call only when tracks(...inputs) is true. */
export function record(op: string, value: Tensor<'f32'>, inputs: readonly Var[], backward: BackwardFn): Var {
  return new Var(value, true, { op, inputs, backward });
}

/** The result of an op: recorded when any input needs a gradient, else a constant with no closure kept. */
export function result(op: string, value: Tensor<'f32'>, inputs: readonly Var[], backward: () => BackwardFn): Var {
  return tracks(...inputs) ? record(op, value, inputs, backward()) : new Var(value);
}
