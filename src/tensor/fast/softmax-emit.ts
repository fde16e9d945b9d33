/**
 * Softmax kernels, bit-exact with ../ops/softmax.ts `softmaxRows` (the reference is the twin).
 *
 * `softmax_rows` (shared with the attention kernel) normalises up to 4 rows of float32
 * logits that are already masked (hidden = -Infinity) and padded with -Infinity to `np`, a
 * multiple of 8 columns:
 *   m = max_j v_j (f32x4.max then a lane reduction: exact; NaN propagates);
 *   m = -Inf (nothing visible) -> the row is +0 everywhere, as the reference's `continue`;
 *   e_j = exp(v_j - m) in float64 with the reference's exp (exp-emit.ts emitSoftmaxExp2: equal
 *         bits where they can matter; -Inf lanes give ~0,
 *         and 8 columns all -Inf are stored as zeros without evaluating exp: same bits);
 *   s = sum_j e_j, one sequential float64 chain per row, j ascending (4 rows interleaved);
 *         padded columns add +0, which leaves s unchanged;
 *   y_j = fround(e_j / s)  (a true division, as the reference).
 *
 * `softmax` applies a u8 mask (row (r mod maskRows) of a (maskRows, n) table: the suffix
 * broadcast of an (N, n) attention mask over leading dims) while copying each row into a
 * scratch row, then calls softmax_rows. Reads up to 12 bytes past a row of x and 3 past the
 * mask (overreadBytes 12); never writes outside its rows.
 */
import { ModuleBuilder, call, f32, f32x4, f64, f64x2, i16x8, i32, i32x4, i8x16, v128 } from '../wasm/emit/index.js';
import type { FuncRef, Local } from '../wasm/emit/index.js';
import type { EmitContext, KernelSpec } from '../wasm/spec.js';
import { kernelName } from '../wasm/spec.js';
import { emitSoftmaxExp, expTemps } from './exp-emit.js';

export const SOFTMAX_SPEC: KernelSpec = {
  op: 'softmax',
  types: 'f32_u8mask',
  what: { exp: 'ref64' },
  tile: { rows: 4, u: 4 },
  isa: 'simd128',
  variant: 'f64x2',
  overreadBytes: 12,
};

/** Exported entry: softmax(x, y, n, r0, r1, mask, maskRows, scratch); scratch: softmaxScratchBytes(n). */
export const SOFTMAX_EXPORT = 'softmax';

const HI_TO_LO = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** Columns rounded up to 8 (two f32x4 vectors, four f64x2 exp chains per step). */
export function padCols(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Bytes of float64 exp scratch softmax_rows needs for rows of np padded columns. */
export function expScratchBytes(np: number): number {
  return 4 * np * 8;
}

/** Bytes of scratch per task of the `softmax` export: 4 padded f32 rows + the exp scratch. */
export function softmaxScratchBytes(n: number): number {
  const np = padCols(n);
  return 4 * np * 4 + expScratchBytes(np);
}

/**
 * Define `softmax_rows(pv, ldv, rows, np, pe, pout, ldo, nout)` in `m`: rows <= 4 logits rows
 * at pv (stride ldv bytes, np columns, hidden/padding = -Inf) -> float32 probabilities at
 * pout (stride ldo bytes, first nout columns written); pe: 4·np float64 of scratch.
 */
export function defineSoftmaxRows(m: ModuleBuilder): FuncRef {
  return m.func(
    'softmax_rows',
    { pv: 'i32', ldv: 'i32', rows: 'i32', np: 'i32', pe: 'i32', pout: 'i32', ldo: 'i32', nout: 'i32' },
    [],
    (f, p) => {
      const j = f.local('i32', 'j');
      const npB = f.local('i32', 'np_bytes');
      const pvi = f.local('i32', 'pvi');
      const pei = f.local('i32', 'pei');
      const vmax = f.local('v128', 'vmax');
      const vmax2 = f.local('v128', 'vmax2');
      const v = f.local('v128', 'v0123');
      const v2 = f.local('v128', 'v4567');
      const lo = f.local('v128', 'v01');
      const hi = f.local('v128', 'v23');
      const xs = [0, 1, 2, 3].map((i) => f.local('v128', `vx${i}`));
      const vm = f.local('v128', 'vm');
      const ninf = f.local('v128', 'vninf');
      const mx = [0, 1, 2, 3].map((i) => f.local('f64', `m${i}`));
      const sm = [0, 1, 2, 3].map((i) => f.local('f64', `s${i}`));
      const pe = [0, 1, 2, 3].map((i) => f.local('i32', `pe${i}`));
      const po = f.local('i32', 'po');
      const n4 = f.local('i32', 'n4');
      const rem = f.local('i32', 'rem');
      const vs = f.local('v128', 'vs');
      const tm = expTemps(f, 4);

      f.set(npB, i32.shl(p.np, 2));
      f.set(ninf, f32x4.splat(-Infinity));
      for (let i = 0; i < 4; i++) f.set(pe[i], i32.add(p.pe, i32.mul(i32.shl(p.np, 3), i)));

      for (let i = 0; i < 4; i++) {
        f.set(mx[i], f64.const(-Infinity));
        f.if(i32.lt_s(i, p.rows), () => {
          f.set(pvi, i32.add(p.pv, i32.mul(p.ldv, i)));
          // row max
          f.set(vmax, ninf);
          f.set(vmax2, ninf);
          f.for(j, 0, npB, 32, () => {
            f.set(vmax, f32x4.max(vmax, v128.load(i32.add(pvi, j), 0, 2)));
            f.set(vmax2, f32x4.max(vmax2, v128.load(i32.add(pvi, j), 16, 2)));
          });
          f.set(vmax, f32x4.max(vmax, vmax2));
          f.set(
            mx[i],
            f64.promote_f32(
              f32.max(f32.max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), f32.max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3))),
            ),
          );
          // exponentials, 8 columns per step (skipped for a fully hidden row: written as zeros below)
          f.if(f64.ne(mx[i], f64.const(-Infinity)), () => {
            f.set(vm, f64x2.splat(mx[i]));
            f.set(pei, pe[i]);
            f.for(j, 0, npB, 32, () => {
              f.set(v, v128.load(i32.add(pvi, j), 0, 2));
              f.set(v2, v128.load(i32.add(pvi, j), 16, 2));
              f.if(
                i32x4.all_true(v128.and(f32x4.eq(v, ninf), f32x4.eq(v2, ninf))),
                () => {
                  for (let q = 0; q < 4; q++) f.exec(v128.store(pei, v128.zero(), 16 * q, 3));
                },
                () => {
                  f.set(xs[0], f64x2.sub(f64x2.promote_low_f32x4(v), vm));
                  f.set(xs[1], f64x2.sub(f64x2.promote_low_f32x4(i8x16.shuffle(v, v, HI_TO_LO)), vm));
                  f.set(xs[2], f64x2.sub(f64x2.promote_low_f32x4(v2), vm));
                  f.set(xs[3], f64x2.sub(f64x2.promote_low_f32x4(i8x16.shuffle(v2, v2, HI_TO_LO)), vm));
                  emitSoftmaxExp(f, xs, tm);
                  for (let q = 0; q < 4; q++) f.exec(v128.store(pei, xs[q], 16 * q, 3));
                },
              );
              f.set(pei, i32.add(pei, 64));
            });
          });
        });
      }
      // sums: one sequential float64 chain per row, 4 chains interleaved
      for (let i = 0; i < 4; i++) f.set(sm[i], f64.const(0));
      f.for(j, 0, i32.shl(p.np, 3), 8, () => {
        for (let i = 0; i < 4; i++) f.set(sm[i], f64.add(sm[i], f64.load(i32.add(pe[i], j))));
      });
      // outputs
      f.set(n4, i32.and(p.nout, -4));
      f.set(rem, i32.and(p.nout, 3));
      for (let i = 0; i < 4; i++) {
        f.if(i32.lt_s(i, p.rows), () => {
          f.set(po, i32.add(p.pout, i32.mul(p.ldo, i)));
          f.set(vs, f64x2.splat(sm[i]));
          const four = (jj: Local) => {
            f.set(lo, f64x2.div(v128.load(i32.add(pe[i], i32.shl(jj, 3)), 0, 3), vs));
            f.set(hi, f64x2.div(v128.load(i32.add(pe[i], i32.shl(jj, 3)), 16, 3), vs));
            f.set(v, i8x16.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), JOIN_LOW));
          };
          f.if(f64.eq(mx[i], f64.const(-Infinity)), () => f.set(v, v128.zero()));
          f.for(j, 0, n4, 4, () => {
            f.if(f64.ne(mx[i], f64.const(-Infinity)), () => four(j));
            f.exec(v128.store(i32.add(po, i32.shl(j, 2)), v, 0, 2));
          });
          f.if(rem, () => {
            f.set(j, n4);
            f.if(f64.ne(mx[i], f64.const(-Infinity)), () => four(j));
            f.set(po, i32.add(po, i32.shl(j, 2)));
            f.exec(f32.store(po, f32x4.extract_lane(v, 0)));
            f.if(i32.gt_u(rem, 1), () => f.exec(f32.store(po, f32x4.extract_lane(v, 1), 4)));
            f.if(i32.gt_u(rem, 2), () => f.exec(f32.store(po, f32x4.extract_lane(v, 2), 8)));
          });
        });
      }
    },
  );
}

export function emitSoftmax(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const m = new ModuleBuilder(kernelName(spec));
  m.importMemory(ctx.memory);
  const rowsFn = defineSoftmaxRows(m);
  m.func(
    'softmax',
    { x: 'i32', y: 'i32', n: 'i32', r0: 'i32', r1: 'i32', mask: 'i32', maskRows: 'i32', scratch: 'i32' },
    [],
    (f, p) => {
      const r = f.local('i32', 'r');
      const cnt = f.local('i32', 'cnt');
      const np = f.local('i32', 'np');
      const nB = f.local('i32', 'n_bytes');
      const npB = f.local('i32', 'np_bytes');
      const pe = f.local('i32', 'pe');
      const i = f.local('i32', 'i');
      const j = f.local('i32', 'j');
      const px = f.local('i32', 'px');
      const ps = f.local('i32', 'ps');
      const pm = f.local('i32', 'pm');
      const v = f.local('v128', 'v');
      const ninf = f.local('v128', 'vninf');

      f.set(np, i32.and(i32.add(p.n, 7), -8));
      f.set(nB, i32.shl(p.n, 2));
      f.set(npB, i32.shl(np, 2));
      f.set(pe, i32.add(p.scratch, i32.shl(npB, 2)));
      f.set(ninf, f32x4.splat(-Infinity));
      f.for(r, p.r0, p.r1, 4, () => {
        f.set(cnt, i32.sub(p.r1, r));
        f.if(i32.gt_s(cnt, 4), () => f.set(cnt, 4));
        f.for(i, 0, cnt, 1, () => {
          f.set(px, i32.add(p.x, i32.mul(i32.add(r, i), nB)));
          f.set(ps, i32.add(p.scratch, i32.mul(i, npB)));
          f.if(
            p.mask,
            () => {
              f.set(pm, i32.add(p.mask, i32.mul(i32.rem_u(i32.add(r, i), p.maskRows), p.n)));
              f.for(j, 0, nB, 16, () => {
                f.set(v, v128.load(i32.add(px, j), 0, 2));
                const hidden = i32x4.eq(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(i32.add(pm, i32.shr_u(j, 2)), 0, 0))), i32x4.splat(0));
                f.exec(v128.store(i32.add(ps, j), v128.bitselect(ninf, v, hidden), 0, 2));
              });
            },
            () => {
              f.for(j, 0, nB, 16, () => f.exec(v128.store(i32.add(ps, j), v128.load(i32.add(px, j), 0, 2), 0, 2)));
            },
          );
          // padding columns n..np-1
          f.for(j, nB, npB, 4, () => f.exec(f32.store(i32.add(ps, j), f32.const(-Infinity))));
        });
        f.exec(call(rowsFn, p.scratch, npB, cnt, np, pe, i32.add(p.y, i32.mul(r, nB)), nB, p.n));
      });
    },
    SOFTMAX_EXPORT,
  );
  return m;
}
