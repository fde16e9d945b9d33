/**
 * Elementwise add / mul kernel emitter for heap-resident float32 tensors (residual adds,
 * positional embeddings, LayerScale): out = A op B elementwise ('same'), or A op S with S of
 * P elements broadcast over the rows of A ('rows', S repeated every P elements).
 *
 * Every element is one IEEE float32 operation (f32x4.add / f32x4.mul on full vectors, f32.add /
 * f32.mul on the tail), which is what the TypeScript twin computes: fround(a op b) of two
 * float32 values in float64 equals the float32 operation exactly (53 >= 2·24 + 2 bits, so the
 * double rounding is innocuous). Bound vs the twin: 0, bit-exact (NaN payloads aside).
 *
 * Loops: 8 floats per iteration (two v128), then one v128, then 0..3 scalars; 'rows' runs that
 * loop over each row of P. No reads or writes outside the buffers (overreadBytes 0), so a task
 * may own any contiguous range of elements ('same') or of whole rows ('rows').
 */
import { ModuleBuilder, f32, f32x4, i32, v128 } from '../wasm/emit/index.js';
import type { FuncBuilder, Local, Operand } from '../wasm/emit/index.js';
import type { EmitContext, KernelSpec } from '../wasm/spec.js';
import { kernelName } from '../wasm/spec.js';

export const BINARY_SPEC: KernelSpec = {
  op: 'binary',
  types: 'f32',
  what: { ops: 'addmul' },
  tile: { u: 8 },
  isa: 'simd128',
  overreadBytes: 0,
};

export type BinaryKind = 'add' | 'mul';

/** Exported entries: `${kind}_same(pa, pb, pout, n)`, `${kind}_rows(pa, ps, pout, rows, period)`; bytes / elements. */
export function binaryExport(kind: BinaryKind, layout: 'same' | 'rows'): string {
  return `${kind}_${layout}`;
}

const VEC = { add: f32x4.add, mul: f32x4.mul } as const;
const SCALAR = { add: f32.add, mul: f32.mul } as const;

/** out[i] = a[i] op b[i] for i < n (pointers advanced in place). */
function emitRun(f: FuncBuilder, kind: BinaryKind, pa: Local, pb: Local, po: Local, n: Operand, end: Local, end8: Local): void {
  const vop = VEC[kind];
  const sop = SCALAR[kind];
  f.set(end, i32.add(pa, i32.shl(n, 2)));
  f.set(end8, i32.add(pa, i32.shl(i32.and(n, -8), 2)));
  f.block((done) => {
    f.brIf(done, i32.ge_u(pa, end8));
    f.loop((top) => {
      f.exec(v128.store(po, vop(v128.load(pa, 0, 2), v128.load(pb, 0, 2)), 0, 2));
      f.exec(v128.store(po, vop(v128.load(pa, 16, 2), v128.load(pb, 16, 2)), 16, 2));
      f.set(pa, i32.add(pa, 32));
      f.set(pb, i32.add(pb, 32));
      f.set(po, i32.add(po, 32));
      f.brIf(top, i32.lt_u(pa, end8));
    });
  });
  f.if(i32.ge_u(i32.sub(end, pa), 16), () => {
    f.exec(v128.store(po, vop(v128.load(pa, 0, 2), v128.load(pb, 0, 2)), 0, 2));
    f.set(pa, i32.add(pa, 16));
    f.set(pb, i32.add(pb, 16));
    f.set(po, i32.add(po, 16));
  });
  f.block((done) => {
    f.brIf(done, i32.ge_u(pa, end));
    f.loop((top) => {
      f.exec(f32.store(po, sop(f32.load(pa), f32.load(pb))));
      f.set(pa, i32.add(pa, 4));
      f.set(pb, i32.add(pb, 4));
      f.set(po, i32.add(po, 4));
      f.brIf(top, i32.lt_u(pa, end));
    });
  });
}

export function emitBinary(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const m = new ModuleBuilder(kernelName(spec));
  m.importMemory(ctx.memory);
  for (const kind of ['add', 'mul'] as const) {
    m.func(
      binaryExport(kind, 'same'),
      { pa: 'i32', pb: 'i32', po: 'i32', n: 'i32' },
      [],
      (f, p) => emitRun(f, kind, p.pa, p.pb, p.po, p.n, f.local('i32', 'end'), f.local('i32', 'end8')),
      binaryExport(kind, 'same'),
    );
    m.func(
      binaryExport(kind, 'rows'),
      { pa: 'i32', ps: 'i32', po: 'i32', rows: 'i32', period: 'i32' },
      [],
      (f, p) => {
        const r = f.local('i32', 'r');
        const s = f.local('i32', 's');
        const end = f.local('i32', 'end');
        const end8 = f.local('i32', 'end8');
        f.for(r, 0, p.rows, 1, () => {
          f.set(s, p.ps);
          emitRun(f, kind, p.pa, s, p.po, p.period, end, end8);
        });
      },
      binaryExport(kind, 'rows'),
    );
  }
  return m;
}
