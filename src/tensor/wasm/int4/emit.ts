/**
 * Emitters for the 4-bit weight kernels; layouts in ./layout.ts (weights) and
 * ../int8/layout.ts (widened activations); semantics (the twins) in ./ref.ts. Both kernels
 * perform exactly the twins' float32 operations in the twins' order.
 *
 * `gemm_i8i4_f32__mr4_nr8_kc4__simd128_dot16` (W4A8) exports
 *   widen(...)                              as in ../int8/emit.ts (groups padded to Gp)
 *   gemm(A16, KP, t0, t1, W, p0, p1, C, ldc, M, N, sA, bias, nG, CH)
 *     per group: exact i32 dots over the group, then facc += f32(c)·s[n,g]; at the end
 *     y = facc·sA[m] (+ bias)
 *
 * `gemm_f32i4_f32__mr4_nr8__simd128` (W4A16) exports
 *   gemm(X, K, t0, t1, W, p0, p1, C, ldc, M, N, bias, nG, G, CH, scratch)
 *     per 64-row block and panel: dequantize the panel to f32 rows w[k][8] = f32(s·(q − z)) in `scratch`
 *     ((nG·G + 4)·32 bytes, private to the calling thread), then for 4-row tiles
 *     acc += x[m,k]·w[k] for k ascending (one accumulator per output), y = acc (+ bias)
 */
import { ModuleBuilder, f32x4, i16x8, i32, i32x4, i8x16, select, v128 } from '../emit/index.js';
import type { Local } from '../emit/index.js';
import { kernelName, type EmitContext, type KernelSpec } from '../spec.js';
import { addWiden, biasStoreRow8, forRowBlocks } from '../int8/emit.js';
import { I4_HEAD_BYTES } from './layout.js';

const MR = 4;

export const GEMM_W4A8_SPEC: KernelSpec = {
  op: 'gemm',
  types: 'i8i4_f32',
  tile: { mr: MR, nr: 8, kc: 4, mc: 64 },
  isa: 'simd128',
  variant: 'dot16',
  overreadBytes: 1,
};

export const GEMM_W4A16_SPEC: KernelSpec = {
  op: 'gemm',
  types: 'f32i4_f32',
  tile: { mr: MR, nr: 8, mc: 128 },
  isa: 'simd128',
  overreadBytes: 0,
};

const NIBBLE_MASK = new Array<number>(16).fill(0x0f);

export function emitGemmW4A8(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const mb = new ModuleBuilder(kernelName(spec));
  mb.importMemory(ctx.memory);
  addWiden(mb);
  const params = {
    A16: 'i32', KP: 'i32', t0: 'i32', t1: 'i32', W: 'i32', p0: 'i32', p1: 'i32', C: 'i32', ldc: 'i32',
    M: 'i32', N: 'i32', sA: 'i32', bias: 'i32', nG: 'i32', CH: 'i32',
  } as const;
  mb.func('gemm', params, [], (f, a) => {
    const p = f.local('i32', 'p');
    const t = f.local('i32', 't');
    const g = f.local('i32', 'g');
    const wp = f.local('i32', 'wp');
    const pg = f.local('i32', 'pg');
    const pa = f.local('i32', 'pa');
    const pw = f.local('i32', 'pw');
    const wend = f.local('i32', 'wend');
    const bg = f.local('i32', 'bg');
    const ncols = f.local('i32', 'ncols');
    const m = f.local('i32', 'm');
    const dst = f.local('i32', 'dst');
    const ep = f.local('i32', 'ep');
    const vacc: Local[][] = [];
    const vfacc: Local[][] = [];
    for (let r = 0; r < MR; r++) vacc.push([f.local('v128', `vacc${r}x0123`), f.local('v128', `vacc${r}x4567`)]);
    for (let r = 0; r < MR; r++) vfacc.push([f.local('v128', `vfacc${r}x0123`), f.local('v128', `vfacc${r}x4567`)]);
    const vz = f.local('v128', 'vz');
    const vt = f.local('v128', 'vq');
    const vlo = f.local('v128', 'vlo');
    const vhi = f.local('v128', 'vhi');
    const vb0 = f.local('v128', 'vb0123');
    const vb1 = f.local('v128', 'vb4567');
    const va = f.local('v128', 'va');
    const vy0 = f.local('v128', 'vy0123');
    const vy1 = f.local('v128', 'vy4567');

    const mb = f.local('i32', 'mb');
    const tEnd = f.local('i32', 'tEnd');
    f.set(bg, i32.add(I4_HEAD_BYTES, i32.shl(a.CH, 4)));
    forRowBlocks(f, spec, a.t0, a.t1, mb, tEnd, () => f.for(p, a.p0, a.p1, 1, () => {
      f.set(wp, i32.add(a.W, i32.mul(p, i32.mul(a.nG, bg))));
      f.set(ncols, i32.sub(a.N, i32.shl(p, 3)));
      f.set(ncols, select(8, ncols, i32.gt_s(ncols, 8)));
      f.set(ep, i32.shl(p, 5));
      f.for(t, mb, tEnd, 1, () => {
        f.set(pa, i32.add(a.A16, i32.mul(t, i32.shl(a.KP, 4))));
        f.set(pg, wp);
        for (const row of vfacc) for (const v of row) f.set(v, v128.zero());
        f.for(g, 0, a.nG, 1, () => {
          f.set(vz, v128.load(pg));
          f.set(pw, i32.add(pg, I4_HEAD_BYTES));
          f.set(wend, i32.add(pg, bg));
          for (const row of vacc) for (const v of row) f.set(v, v128.zero());
          f.loop((top) => {
            f.set(vt, v128.load(pw));
            f.set(vlo, i8x16.sub(v128.and(vt, v128.const_i8x16(NIBBLE_MASK)), vz));
            f.set(vhi, i8x16.sub(i8x16.shr_u(vt, 4), vz));
            for (const [half, vsrc] of [[0, vlo], [1, vhi]] as const) {
              f.set(vb0, i16x8.extend_low_i8x16_s(vsrc));
              f.set(vb1, i16x8.extend_high_i8x16_s(vsrc));
              for (let r = 0; r < MR; r++) {
                f.set(va, v128.load32_splat(pa, 16 * half + 4 * r));
                f.set(vacc[r][0], i32x4.add(vacc[r][0], i32x4.dot_i16x8_s(va, vb0)));
                f.set(vacc[r][1], i32x4.add(vacc[r][1], i32x4.dot_i16x8_s(va, vb1)));
              }
            }
            f.set(pa, i32.add(pa, 32));
            f.set(pw, i32.add(pw, 16));
            f.brIf(top, i32.lt_u(pw, wend));
          });
          // facc = f(facc + f(f(c)·s[n,g])), groups ascending
          for (let r = 0; r < MR; r++) {
            for (let v = 0; v < 2; v++) {
              f.set(vfacc[r][v], f32x4.add(vfacc[r][v], f32x4.mul(f32x4.convert_i32x4_s(vacc[r][v]), v128.load(pg, 16 + 16 * v))));
            }
          }
          f.set(pg, wend);
        });
        for (let r = 0; r < MR; r++) {
          f.set(m, i32.add(i32.shl(t, 2), r));
          f.if(i32.lt_s(m, a.M), () => {
            f.set(va, v128.load32_splat(i32.add(a.sA, i32.shl(m, 2))));
            f.set(vy0, f32x4.mul(vfacc[r][0], va));
            f.set(vy1, f32x4.mul(vfacc[r][1], va));
            biasStoreRow8(f, { bias: a.bias, C: a.C, ldc: a.ldc, m, ep, dst, ncols }, vy0, vy1);
          });
        }
      });
    }));
  }, 'gemm');
  return mb;
}

/** Byte shuffle that de-interleaves [c0k0 c0k1 c1k0 c1k1 …] into [c0k0 … c7k0 c0k1 … c7k1]. */
const DEINTERLEAVE = [0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15];

export function emitGemmW4A16(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const mb = new ModuleBuilder(kernelName(spec));
  mb.importMemory(ctx.memory);
  const params = {
    X: 'i32', K: 'i32', t0: 'i32', t1: 'i32', W: 'i32', p0: 'i32', p1: 'i32', C: 'i32', ldc: 'i32',
    M: 'i32', N: 'i32', bias: 'i32', nG: 'i32', G: 'i32', CH: 'i32', scratch: 'i32',
  } as const;
  mb.func('gemm', params, [], (f, a) => {
    const p = f.local('i32', 'p');
    const t = f.local('i32', 't');
    const g = f.local('i32', 'g');
    const j = f.local('i32', 'j');
    const wp = f.local('i32', 'wp');
    const pg = f.local('i32', 'pg');
    const pw = f.local('i32', 'pw');
    const sc = f.local('i32', 'sc');
    const scEnd = f.local('i32', 'scEnd');
    const bg = f.local('i32', 'bg');
    const ncols = f.local('i32', 'ncols');
    const m = f.local('i32', 'm');
    const dst = f.local('i32', 'dst');
    const ep = f.local('i32', 'ep');
    const ldx = f.local('i32', 'ldx');
    const mlast = f.local('i32', 'mlast');
    const px: Local[] = [];
    for (let r = 0; r < MR; r++) px.push(f.local('i32', `px${r}`));
    const vacc: Local[][] = [];
    for (let r = 0; r < MR; r++) vacc.push([f.local('v128', `vacc${r}x0123`), f.local('v128', `vacc${r}x4567`)]);
    const vz = f.local('v128', 'vz');
    const vs0 = f.local('v128', 'vs0123');
    const vs1 = f.local('v128', 'vs4567');
    const vt = f.local('v128', 'vq');
    const vd = f.local('v128', 'vd');
    const vw = f.local('v128', 'vw');
    const vb0 = f.local('v128', 'vb0123');
    const vb1 = f.local('v128', 'vb4567');
    const va = f.local('v128', 'va');

    f.set(bg, i32.add(I4_HEAD_BYTES, i32.shl(a.CH, 4)));
    f.set(ldx, i32.shl(a.K, 2));
    f.set(mlast, i32.sub(a.M, 1));
    f.set(scEnd, i32.add(a.scratch, i32.shl(a.K, 5)));
    const mb = f.local('i32', 'mb');
    const tEnd = f.local('i32', 'tEnd');
    forRowBlocks(f, spec, a.t0, a.t1, mb, tEnd, () => f.for(p, a.p0, a.p1, 1, () => {
      f.set(wp, i32.add(a.W, i32.mul(p, i32.mul(a.nG, bg))));
      f.set(ncols, i32.sub(a.N, i32.shl(p, 3)));
      f.set(ncols, select(8, ncols, i32.gt_s(ncols, 8)));
      f.set(ep, i32.shl(p, 5));
      // 1. dequantize the panel: scratch row k (32 bytes) = f32(s[g]·(q − z)) for 8 columns
      f.set(pg, wp);
      f.for(g, 0, a.nG, 1, () => {
        f.set(vz, v128.load(pg));
        f.set(vs0, v128.load(pg, 16));
        f.set(vs1, v128.load(pg, 32));
        f.set(pw, i32.add(pg, I4_HEAD_BYTES));
        f.set(sc, i32.add(a.scratch, i32.shl(i32.mul(g, a.G), 5)));
        f.for(j, 0, a.CH, 1, () => {
          f.set(vt, v128.load(pw));
          for (const [half, nib] of [[0, v128.and(vt, v128.const_i8x16(NIBBLE_MASK))], [1, i8x16.shr_u(vt, 4)]] as const) {
            f.set(vd, i8x16.shuffle(i8x16.sub(nib, vz), vd, DEINTERLEAVE));
            for (let kk = 0; kk < 2; kk++) {
              f.set(vw, kk === 0 ? i16x8.extend_low_i8x16_s(vd) : i16x8.extend_high_i8x16_s(vd));
              const off = 64 * half + 32 * kk;
              f.exec(v128.store(sc, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(vw)), vs0), off));
              f.exec(v128.store(sc, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(vw)), vs1), off + 16));
            }
          }
          f.set(pw, i32.add(pw, 16));
          f.set(sc, i32.add(sc, 128));
        });
        f.set(pg, i32.add(pg, bg));
      });
      // 2. 4-row tiles: acc = f(acc + f(x·w)), k ascending
      f.for(t, mb, tEnd, 1, () => {
        for (let r = 0; r < MR; r++) {
          // rows past M re-read row M−1 (their results are not stored)
          const row = i32.add(i32.shl(t, 2), r);
          f.set(px[r], i32.add(a.X, i32.mul(select(row, mlast, i32.lt_s(row, a.M)), ldx)));
        }
        for (const rowv of vacc) for (const v of rowv) f.set(v, v128.zero());
        f.set(sc, a.scratch);
        f.loop((top) => {
          f.set(vb0, v128.load(sc));
          f.set(vb1, v128.load(sc, 16));
          for (let r = 0; r < MR; r++) {
            f.set(va, v128.load32_splat(px[r]));
            f.set(vacc[r][0], f32x4.add(vacc[r][0], f32x4.mul(va, vb0)));
            f.set(vacc[r][1], f32x4.add(vacc[r][1], f32x4.mul(va, vb1)));
            f.set(px[r], i32.add(px[r], 4));
          }
          f.set(sc, i32.add(sc, 32));
          f.brIf(top, i32.lt_u(sc, scEnd));
        });
        for (let r = 0; r < MR; r++) {
          f.set(m, i32.add(i32.shl(t, 2), r));
          f.if(i32.lt_s(m, a.M), () => {
            biasStoreRow8(f, { bias: a.bias, C: a.C, ldc: a.ldc, m, ep, dst, ncols }, vacc[r][0], vacc[r][1]);
          });
        }
      });
    }));
  }, 'gemm');
  return mb;
}
