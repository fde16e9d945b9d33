/**
 * GELU kernel emitter: out[i] = fround(x·P(x)) for n floats, 8 per iteration as four
 * interleaved f64x2 chains, where P(x) = 1 - Q(|x|) for x >= 0 and Q(|x|) for x < 0, Q(a) = Phi(-a) read from
 * the degree-7 interval table of gelu-table.ts.
 *
 * Every lane follows exactly the operation sequence of `geluScalarFast` (gelu.ts), in IEEE
 * float64 (no FMA), so the kernel equals its TypeScript twin bit for bit. The coefficients are
 * gathered two at a time: one v128.load of (c_k, c_k+1) per lane, two shuffles give the
 * (c_k+1, c_k+1) and (c_k, c_k) vectors Horner takes, c7 down to c0 (6% faster than
 * v128.load64_zero + v128.load64_lane per coefficient under V8 11.3; computing the interval
 * index on the float32 lanes instead was 6% slower).
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
  tile: { u: 8 },
  isa: 'simd128',
  variant: 'f64x2',
  overreadBytes: 12,
};

/** Exported entry: gelu(pin, pout, n, tbl); pointers in bytes, n in elements. */
export const GELU_EXPORT = 'gelu';

const LOG2_STRIDE_BYTES = Math.log2(GELU_STRIDE * 8);
if (GELU_DEG % 2 !== 1) throw new RangeError('gelu-emit gathers coefficient pairs: GELU_DEG must be odd');

/** 1.5·2^52: floor(t) + MAGIC holds the integer floor(t) in its low 32 bits. */
const MAGIC = 6755399441055744;

interface Chain {
  x: Local;
  a: Local;
  t: Local;
  fl: Local;
  u: Local;
  p: Local;
  c0: Local;
  c1: Local;
  ad0: Local;
  ad1: Local;
}

function chain(f: FuncBuilder, i: number, x: Local): Chain {
  const v = (n: string) => f.local('v128', `v${n}${i}`);
  return { x, a: v('a'), t: v('t'), fl: v('fl'), u: v('u'), p: v('p'), c0: v('c0_'), c1: v('c1_'), ad0: f.local('i32', `ad${i}_0`), ad1: f.local('i32', `ad${i}_1`) };
}

const LO64 = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const HI64 = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
const HI = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/**
 * Emit `c.p = gelu64(c.x)` for the two float64 lanes of each chain (see geluScalarFast),
 * the chains interleaved step by step (the Horner chain is latency-bound).
 */
function emitGeluChains(f: FuncBuilder, cs: readonly Chain[], tbl: Local): void {
  const each = (fn: (c: Chain) => void) => cs.forEach(fn);
  each((c) => f.set(c.a, f64x2.abs(c.x)));
  each((c) => f.set(c.t, f64x2.mul(c.a, f64x2.splat(GELU_PER_UNIT))));
  // I = t < last ? floor(t) : last (NaN -> last); u = (t - I)·2 - 1, exact
  each((c) => f.set(c.fl, f64x2.floor(f64x2.pmin(f64x2.splat(GELU_INTERVALS - 1), c.t))));
  each((c) => f.set(c.u, f64x2.sub(f64x2.mul(f64x2.sub(c.t, c.fl), f64x2.splat(2)), f64x2.splat(1))));
  each((c) => f.set(c.fl, f64x2.add(c.fl, f64x2.splat(MAGIC))));
  each((c) => {
    f.set(c.ad0, i32.add(tbl, i32.shl(i32x4.extract_lane(c.fl, 0), LOG2_STRIDE_BYTES)));
    f.set(c.ad1, i32.add(tbl, i32.shl(i32x4.extract_lane(c.fl, 2), LOG2_STRIDE_BYTES)));
  });
  // Horner from c7: pairs (c6, c7), (c4, c5), ... gathered one v128 per lane
  for (let k = GELU_DEG - 1; k >= 0; k -= 2) {
    each((c) => {
      f.set(c.c0, v128.load(c.ad0, 8 * k));
      f.set(c.c1, v128.load(c.ad1, 8 * k));
    });
    if (k === GELU_DEG - 1) each((c) => f.set(c.p, i8x16.shuffle(c.c0, c.c1, HI64)));
    else each((c) => f.set(c.p, f64x2.add(f64x2.mul(c.p, c.u), i8x16.shuffle(c.c0, c.c1, HI64))));
    each((c) => f.set(c.p, f64x2.add(f64x2.mul(c.p, c.u), i8x16.shuffle(c.c0, c.c1, LO64))));
  }
  // q = |x| < AMAX ? p : +0 ; P = x < 0 ? q : 1 - q ; r = x·P ; r = x == -inf ? +0 : r
  each((c) => f.set(c.p, v128.and(c.p, f64x2.lt(c.a, f64x2.splat(GELU_INTERVALS / GELU_PER_UNIT)))));
  each((c) => f.set(c.p, v128.bitselect(c.p, f64x2.sub(f64x2.splat(1), c.p), f64x2.lt(c.x, f64x2.splat(0)))));
  each((c) => f.set(c.p, v128.andnot(f64x2.mul(c.x, c.p), f64x2.eq(c.x, f64x2.splat(-Infinity)))));
}

export function emitGelu(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const m = new ModuleBuilder(kernelName(spec));
  m.importMemory(ctx.memory);
  m.func(
    'gelu',
    { pin: 'i32', pout: 'i32', n: 'i32', tbl: 'i32' },
    [],
    (f, p) => {
      const vx = [f.local('v128', 'vx0123'), f.local('v128', 'vx4567')];
      const xs = [0, 1, 2, 3].map((i) => f.local('v128', `vx${2 * i}${2 * i + 1}`));
      const cs = xs.map((x, i) => chain(f, i, x));
      const end = f.local('i32', 'end');
      const rem = f.local('i32', 'rem');
      const JOIN = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
      /** gelu of vectors vx[0..nv-1] (4 floats each) into vx[0..nv-1] */
      const body = (nv: 1 | 2) => {
        for (let v = 0; v < nv; v++) {
          f.set(xs[2 * v], f64x2.promote_low_f32x4(vx[v]));
          f.set(xs[2 * v + 1], f64x2.promote_low_f32x4(i8x16.shuffle(vx[v], vx[v], HI)));
        }
        emitGeluChains(f, cs.slice(0, 2 * nv), p.tbl);
        for (let v = 0; v < nv; v++) f.set(vx[v], i8x16.shuffle(f32x4.demote_f64x2_zero(cs[2 * v].p), f32x4.demote_f64x2_zero(cs[2 * v + 1].p), JOIN));
      };
      // 8 per iteration
      f.set(end, i32.add(p.pin, i32.shl(i32.and(p.n, -8), 2)));
      f.block((done) => {
        f.brIf(done, i32.ge_u(p.pin, end));
        f.loop((top) => {
          f.set(vx[0], v128.load(p.pin, 0, 2));
          f.set(vx[1], v128.load(p.pin, 16, 2));
          body(2);
          f.exec(v128.store(p.pout, vx[0], 0, 2));
          f.exec(v128.store(p.pout, vx[1], 16, 2));
          f.set(p.pin, i32.add(p.pin, 32));
          f.set(p.pout, i32.add(p.pout, 32));
          f.brIf(top, i32.lt_u(p.pin, end));
        });
      });
      // then 4, then the last 1..3 (a full vector is read, lanes stored one by one)
      f.if(i32.and(p.n, 4), () => {
        f.set(vx[0], v128.load(p.pin, 0, 2));
        body(1);
        f.exec(v128.store(p.pout, vx[0], 0, 2));
        f.set(p.pin, i32.add(p.pin, 16));
        f.set(p.pout, i32.add(p.pout, 16));
      });
      f.set(rem, i32.and(p.n, 3));
      f.if(rem, () => {
        f.set(vx[0], v128.load(p.pin, 0, 2));
        body(1);
        f.exec(f32.store(p.pout, f32x4.extract_lane(vx[0], 0)));
        f.if(i32.gt_u(rem, 1), () => f.exec(f32.store(p.pout, f32x4.extract_lane(vx[0], 1), 4)));
        f.if(i32.gt_u(rem, 2), () => f.exec(f32.store(p.pout, f32x4.extract_lane(vx[0], 2), 8)));
      });
    },
    GELU_EXPORT,
  );
  return m;
}
