/**
 * GELU kernel emitter: out[i] = fround(x·P(x)) for n floats, 4 per iteration as two f64x2
 * halves, where P(x) = 1 - Q(|x|) for x >= 0 and Q(|x|) for x < 0, Q(a) = Phi(-a) read from
 * the degree-7 interval table of gelu-table.ts (two-lane gather: v128.load64_zero +
 * v128.load64_lane per coefficient, the coefficient index as a static memarg offset).
 *
 * Every lane follows exactly the operation sequence of `geluScalarFast` (gelu.ts), in IEEE
 * float64 (no FMA), so the kernel equals its TypeScript twin bit for bit.
 *
 * Tail: the last 1..3 elements are loaded as a full v128 (reads up to 12 bytes past the
 * input: overreadBytes 12, within the heap's 16-byte padding) and stored lane by lane.
 */
import { ModuleBuilder, f32, f32x4, f64x2, i32, i32x4, i8x16, v128 } from '../wasm/emit/index.js';
import type { FuncBuilder, Local } from '../wasm/emit/index.js';
import type { EmitContext, KernelSpec } from '../wasm/spec.js';
import { kernelName } from '../wasm/spec.js';
import { GELU_DEG, GELU_INTERVALS, GELU_PER_UNIT, GELU_STRIDE } from './gelu-table.js';

export const GELU_SPEC: KernelSpec = {
  op: 'gelu',
  types: 'f32',
  what: { tab: `${GELU_PER_UNIT}x${GELU_DEG}` },
  tile: { u: 4 },
  isa: 'simd128',
  variant: 'f64x2',
  overreadBytes: 12,
};

/** Exported entry: gelu(pin, pout, n, tbl); pointers in bytes, n in elements. */
export const GELU_EXPORT = 'gelu';

const LOG2_STRIDE_BYTES = Math.log2(GELU_STRIDE * 8);

/** Emit `dst = gelu64(x)` for the two float64 lanes of local `x` (see geluScalarFast). */
function emitGelu2(f: FuncBuilder, x: Local, dst: Local, tmp: { a: Local; t: Local; iv: Local; u: Local; p: Local; ad0: Local; ad1: Local; c: Local }, tbl: Local): void {
  const { a, t, iv, u, p, ad0, ad1, c } = tmp;
  f.set(a, f64x2.abs(x));
  f.set(t, f64x2.mul(a, f64x2.splat(GELU_PER_UNIT)));
  f.set(iv, i32x4.min_s(i32x4.trunc_sat_f64x2_s_zero(t), i32x4.splat(GELU_INTERVALS - 1)));
  // u = (t - I)·2 - 1, exact
  f.set(u, f64x2.sub(f64x2.mul(f64x2.sub(t, f64x2.convert_low_i32x4_s(iv)), f64x2.splat(2)), f64x2.splat(1)));
  f.set(ad0, i32.add(tbl, i32.shl(i32x4.extract_lane(iv, 0), LOG2_STRIDE_BYTES)));
  f.set(ad1, i32.add(tbl, i32.shl(i32x4.extract_lane(iv, 1), LOG2_STRIDE_BYTES)));
  const coef = (k: number) => v128.load64_lane(ad1, v128.load64_zero(ad0, 8 * k), 1, 8 * k);
  f.set(p, coef(GELU_DEG));
  for (let k = GELU_DEG - 1; k >= 0; k--) {
    f.set(c, coef(k));
    f.set(p, f64x2.add(f64x2.mul(p, u), c));
  }
  // q = a < AMAX ? p : +0 ; P = x < 0 ? q : 1 - q ; r = x·P ; r = x == -inf ? +0 : r
  f.set(p, v128.and(p, f64x2.lt(a, f64x2.splat(GELU_INTERVALS / GELU_PER_UNIT))));
  f.set(p, v128.bitselect(p, f64x2.sub(f64x2.splat(1), p), f64x2.lt(x, f64x2.splat(0))));
  f.set(dst, v128.andnot(f64x2.mul(x, p), f64x2.eq(x, f64x2.splat(-Infinity))));
}

export function emitGelu(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const m = new ModuleBuilder(kernelName(spec));
  m.importMemory(ctx.memory);
  m.func(
    'gelu',
    { pin: 'i32', pout: 'i32', n: 'i32', tbl: 'i32' },
    [],
    (f, p) => {
      const vx = f.local('v128', 'vx0123');
      const lo = f.local('v128', 'vx01');
      const hi = f.local('v128', 'vx23');
      const rlo = f.local('v128', 'vy01');
      const rhi = f.local('v128', 'vy23');
      const vy = f.local('v128', 'vy0123');
      const tmp = {
        a: f.local('v128', 'va'),
        t: f.local('v128', 'vt'),
        iv: f.local('v128', 'vidx'),
        u: f.local('v128', 'vu'),
        p: f.local('v128', 'vp'),
        ad0: f.local('i32', 'ad0'),
        ad1: f.local('i32', 'ad1'),
        c: f.local('v128', 'vc'),
      };
      const end = f.local('i32', 'end');
      const rem = f.local('i32', 'rem');
      const body = () => {
        f.set(lo, f64x2.promote_low_f32x4(vx));
        f.set(hi, f64x2.promote_low_f32x4(i8x16.shuffle(vx, vx, [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15])));
        emitGelu2(f, lo, rlo, tmp, p.tbl);
        emitGelu2(f, hi, rhi, tmp, p.tbl);
        f.set(vy, i8x16.shuffle(f32x4.demote_f64x2_zero(rlo), f32x4.demote_f64x2_zero(rhi), [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]));
      };
      f.set(end, i32.add(p.pin, i32.shl(i32.and(p.n, -4), 2)));
      f.block((done) => {
        f.brIf(done, i32.ge_u(p.pin, end));
        f.loop((top) => {
          f.set(vx, v128.load(p.pin, 0, 2));
          body();
          f.exec(v128.store(p.pout, vy, 0, 2));
          f.set(p.pin, i32.add(p.pin, 16));
          f.set(p.pout, i32.add(p.pout, 16));
          f.brIf(top, i32.lt_u(p.pin, end));
        });
      });
      f.set(rem, i32.and(p.n, 3));
      f.if(rem, () => {
        f.set(vx, v128.load(p.pin, 0, 2));
        body();
        f.exec(f32.store(p.pout, f32x4.extract_lane(vy, 0)));
        f.if(i32.gt_u(rem, 1), () => f.exec(f32.store(p.pout, f32x4.extract_lane(vy, 1), 4)));
        f.if(i32.gt_u(rem, 2), () => f.exec(f32.store(p.pout, f32x4.extract_lane(vy, 2), 8)));
      });
    },
    GELU_EXPORT,
  );
  return m;
}
