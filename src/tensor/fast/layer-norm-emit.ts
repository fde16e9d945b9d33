/**
 * LayerNorm kernel emitter, rows [r0, r1) of x (rows, D) -> y (rows, D), bit-exact with
 * ../ops/norm.ts (the reference is the twin): the same float64 operations in the same order.
 *
 * Statistics, 4 rows at a time (two f64x2 accumulators, one row per lane, so each row's sum
 * stays one sequential float64 chain, j ascending, exactly as layerNormStats):
 *   s = sum x_j;  m = s / D;  ss = sum (x_j - m)^2;  rstd = 1 / sqrt(ss / D + eps).
 * A group with fewer than 4 rows repeats its first row in the spare lanes (never stored).
 * Output, per row, 4 columns at a time as two f64x2 halves:
 *   y_j = fround(((x_j - m) · rstd) · g_j + b_j)
 * with g, b staged as float64 (g = 1 and b = -0 stand for an absent gamma/beta: y·1 = y and
 * y + (-0) = y exactly, -0 included). The last D mod 4 columns are loaded as a full vector
 * (reads <= 12 bytes past a row: overreadBytes 12) and stored lane by lane, so a task never
 * writes outside its rows.
 */
import { ModuleBuilder, f32, f32x4, f64, f64x2, i32, i8x16, select, v128 } from '../wasm/emit/index.js';
import type { Local } from '../wasm/emit/index.js';
import type { EmitContext, KernelSpec } from '../wasm/spec.js';
import { kernelName } from '../wasm/spec.js';

export const LAYER_NORM_SPEC: KernelSpec = {
  op: 'layernorm',
  types: 'f32',
  what: { acc: 'f64' },
  tile: { rows: 4, u: 4 },
  isa: 'simd128',
  variant: 'f64x2',
  overreadBytes: 12,
};

/** Exported entry: layernorm(x, y, D, r0, r1, g64, b64, peps); bytes / elements. */
export const LAYER_NORM_EXPORT = 'layernorm';

const HI_TO_LO = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

export function emitLayerNorm(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const m = new ModuleBuilder(kernelName(spec));
  m.importMemory(ctx.memory);
  m.func(
    'layernorm',
    { x: 'i32', y: 'i32', D: 'i32', r0: 'i32', r1: 'i32', g: 'i32', b: 'i32', peps: 'i32' },
    [],
    (f, p) => {
      const r = f.local('i32', 'r');
      const cnt = f.local('i32', 'cnt');
      const rowB = f.local('i32', 'row_bytes');
      const pr = [0, 1, 2, 3].map((i) => f.local('i32', `px${i}`));
      const j = f.local('i32', 'j');
      const vs = [f.local('v128', 'vs01'), f.local('v128', 'vs23')];
      const vm = [f.local('v128', 'vm01'), f.local('v128', 'vm23')];
      const vd = [f.local('v128', 'vd01'), f.local('v128', 'vd23')];
      const vD = f.local('v128', 'vD');
      const veps = f.local('v128', 'veps');
      const rr = f.local('i32', 'rr');
      const mean = f.local('f64', 'mean');
      const rstd = f.local('f64', 'rstd');
      const pxr = f.local('i32', 'pxr');
      const pyr = f.local('i32', 'pyr');
      const d4 = f.local('i32', 'd4');
      const rem = f.local('i32', 'rem');
      const vx = f.local('v128', 'vx0123');
      const lo = f.local('v128', 'vlo');
      const hi = f.local('v128', 'vhi');
      const vy = f.local('v128', 'vy0123');
      const vmean = f.local('v128', 'vmean');
      const vrstd = f.local('v128', 'vrstd');
      const pgj = f.local('i32', 'pgj');
      const pbj = f.local('i32', 'pbj');

      f.set(rowB, i32.shl(p.D, 2));
      f.set(vD, f64x2.splat(f64.convert_i32_s(p.D)));
      f.set(veps, v128.load64_splat(p.peps));
      f.set(d4, i32.and(p.D, -4));
      f.set(rem, i32.and(p.D, 3));

      // two lanes of one f64x2: element j of rows a and b
      const pair = (a: Local, b: Local) => f64x2.promote_low_f32x4(v128.load32_lane(b, v128.load32_zero(a), 1));
      const half = (v: Local, hiHalf: boolean) => f64x2.promote_low_f32x4(hiHalf ? i8x16.shuffle(v, v, HI_TO_LO) : v);

      f.for(r, p.r0, p.r1, 4, () => {
        f.set(cnt, i32.sub(p.r1, r));
        f.if(i32.gt_s(cnt, 4), () => f.set(cnt, 4));
        f.set(pr[0], i32.add(p.x, i32.mul(r, rowB)));
        for (let i = 1; i < 4; i++) f.set(pr[i], select(i32.add(pr[0], i32.mul(rowB, i)), pr[0], i32.lt_s(i, cnt)));
        // pass 1: sums
        f.set(vs[0], v128.zero());
        f.set(vs[1], v128.zero());
        f.for(j, 0, rowB, 4, () => {
          f.set(vs[0], f64x2.add(vs[0], pair(pr[0], pr[1])));
          f.set(vs[1], f64x2.add(vs[1], pair(pr[2], pr[3])));
          for (const q of pr) f.set(q, i32.add(q, 4));
        });
        f.set(vm[0], f64x2.div(vs[0], vD));
        f.set(vm[1], f64x2.div(vs[1], vD));
        // pass 2: sum of squared deviations
        for (const q of pr) f.set(q, i32.sub(q, rowB));
        f.set(vs[0], v128.zero());
        f.set(vs[1], v128.zero());
        f.for(j, 0, rowB, 4, () => {
          f.set(vd[0], f64x2.sub(pair(pr[0], pr[1]), vm[0]));
          f.set(vd[1], f64x2.sub(pair(pr[2], pr[3]), vm[1]));
          f.set(vs[0], f64x2.add(vs[0], f64x2.mul(vd[0], vd[0])));
          f.set(vs[1], f64x2.add(vs[1], f64x2.mul(vd[1], vd[1])));
          for (const q of pr) f.set(q, i32.add(q, 4));
        });
        // rstd = 1 / sqrt(ss / D + eps), kept in vs
        for (let h = 0; h < 2; h++) f.set(vs[h], f64x2.div(f64x2.splat(1), f64x2.sqrt(f64x2.add(f64x2.div(vs[h], vD), veps))));
        // pass 3: outputs, row by row
        for (let i = 0; i < 4; i++) {
          f.if(i32.lt_s(i, cnt), () => {
            f.set(mean, f64x2.extract_lane(vm[i >> 1], i & 1));
            f.set(rstd, f64x2.extract_lane(vs[i >> 1], i & 1));
            f.set(vmean, f64x2.splat(mean));
            f.set(vrstd, f64x2.splat(rstd));
            f.set(rr, i32.add(r, i));
            f.set(pxr, i32.add(p.x, i32.mul(rr, rowB)));
            f.set(pyr, i32.add(p.y, i32.mul(rr, rowB)));
            const four = () => {
              f.set(vx, v128.load(i32.add(pxr, i32.shl(j, 2)), 0, 2));
              f.set(lo, half(vx, false));
              f.set(hi, half(vx, true));
              f.set(pgj, i32.add(p.g, i32.shl(j, 3)));
              f.set(pbj, i32.add(p.b, i32.shl(j, 3)));
              f.set(lo, f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(lo, vmean), vrstd), v128.load(pgj, 0, 3)), v128.load(pbj, 0, 3)));
              f.set(hi, f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(hi, vmean), vrstd), v128.load(pgj, 16, 3)), v128.load(pbj, 16, 3)));
              f.set(vy, i8x16.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), JOIN_LOW));
            };
            f.for(j, 0, d4, 4, () => {
              four();
              f.exec(v128.store(i32.add(pyr, i32.shl(j, 2)), vy, 0, 2));
            });
            f.if(rem, () => {
              f.set(j, d4);
              four();
              const at = i32.add(pyr, i32.shl(j, 2));
              f.exec(f32.store(at, f32x4.extract_lane(vy, 0)));
              f.if(i32.gt_u(rem, 1), () => f.exec(f32.store(i32.add(pyr, i32.shl(j, 2)), f32x4.extract_lane(vy, 1), 4)));
              f.if(i32.gt_u(rem, 2), () => f.exec(f32.store(i32.add(pyr, i32.shl(j, 2)), f32x4.extract_lane(vy, 2), 8)));
            });
          });
        }
      });
    },
    LAYER_NORM_EXPORT,
  );
  return m;
}
