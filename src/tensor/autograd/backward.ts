/**
 * Reverse pass: from a scalar loss, visit the recorded nodes in reverse topological order and
 * push gradients to their inputs, summing where a Var is used more than once. Gradients are
 * float32 tensors made by the reference ops (matmul grads go through the GEMM backend too).
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { add } from '../ops/elementwise.js';
import { full, sameShape, type Tensor } from '../tensor.js';
import type { Var } from './var.js';

/** Vars reachable from `root` through nodes that require grad, parents before children reversed: root first. */
function reverseTopo(root: Var): Var[] {
  const order: Var[] = [];
  const seen = new Set<Var>();
  // iterative post-order DFS (deep graphs must not overflow the JS stack)
  const stack: [Var, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [v, i] = top;
    const inputs = v.node ? v.node.inputs : [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const u = inputs[i];
      if (u.requiresGrad && !seen.has(u)) {
        seen.add(u);
        stack.push([u, 0]);
      }
    } else {
      stack.pop();
      order.push(v);
    }
  }
  return order.reverse();
}

function seedFor(where: string, loss: Var, seed?: Tensor<'f32'>): Tensor<'f32'> {
  if (!loss.requiresGrad) throw new ValueError(where, `loss ${loss} does not depend on anything that requires grad`);
  if (seed) {
    if (!sameShape(seed.shape, loss.shape)) throw new ShapeError(where, `seed ${fmtShape(seed.shape)} must match loss ${fmtShape(loss.shape)}`);
    return seed;
  }
  if (loss.size !== 1) throw new ShapeError(where, `loss ${fmtShape(loss.shape)} is not a scalar; pass a seed gradient`);
  return full(loss.shape, 1);
}

/** Run the reverse pass; `onLeaf` receives each leaf's total gradient once. */
function run(where: string, loss: Var, seed: Tensor<'f32'> | undefined, keep: ReadonlySet<Var>, onGrad: (v: Var, g: Tensor<'f32'>) => void): void {
  const grads = new Map<Var, Tensor<'f32'>>();
  grads.set(loss, seedFor(where, loss, seed));
  for (const v of reverseTopo(loss)) {
    const g = grads.get(v);
    if (!g) continue;
    if (!v.node || keep.has(v)) onGrad(v, g);
    if (!v.node) continue;
    if (!keep.has(v)) grads.delete(v);
    const outs = v.node.backward(g);
    const ins = v.node.inputs;
    for (let i = 0; i < ins.length; i++) {
      const u = ins[i];
      const gu = outs[i];
      if (!u.requiresGrad || !gu) continue;
      if (!sameShape(gu.shape, u.shape)) {
        throw new ShapeError(where, `gradient of ${v.node.op} input ${i} has shape ${fmtShape(gu.shape)}, input is ${fmtShape(u.shape)}`);
      }
      const prev = grads.get(u);
      grads.set(u, prev ? add(prev, gu) : gu);
    }
  }
}

/**
 * d loss / d leaf for every leaf that requires grad, ADDED to leaf.grad (call zeroGrad or set
 * grad = null between steps, as in PyTorch).
 * @param loss a one-element Var, or any shape with `seed` (the upstream gradient, loss's shape)
 */
export function backward(loss: Var, seed?: Tensor<'f32'>): void {
  run('backward', loss, seed, new Set(), (v, g) => {
    v.grad = v.grad ? add(v.grad, g) : g;
  });
}

/**
 * Gradients of loss w.r.t. `wrt` (leaves or intermediate Vars), returned in order; .grad is
 * not touched. A Var the loss does not depend on gets zeros.
 */
export function grad(loss: Var, wrt: readonly Var[], seed?: Tensor<'f32'>): Tensor<'f32'>[] {
  const want = new Set(wrt);
  const got = new Map<Var, Tensor<'f32'>>();
  run('grad', loss, seed, want, (v, g) => {
    if (want.has(v)) got.set(v, g);
  });
  return wrt.map((v) => got.get(v) ?? full(v.shape, 0));
}
