/**
 * Emitters for the int8 GEMM module `gemm_i8i8_f32__mr4_nr8_kc2__simd128_dot16` and the
 * activation widening pass it shares with the W4A8 module. Layouts: ./layout.ts. Semantics
 * (the twin): ./ref.ts; the epilogue below performs exactly its float32 operations in its
 * order: s = sA·sW; y = f32(c)·s; y = y + bias.
 *
 * Exports of the module:
 *   widen(src, M, K, zA, signed, G, Gp, dst, KP, rowsum)         A (M,K) i8|u8 -> A16 tiles
 *   gemm(A16, KP, t0, t1, W, p0, p1, C, ldc, M, N, sA, rsA, sW, zW, bias)
 *        tiles [t0,t1) x panels [p0,p1) of C (M,N) f32; pointers rsA/zW/bias may be 0 (absent);
 *        loops: 64-row blocks, then panels, then the 4-row tiles of the block
 */
import { ModuleBuilder, f32x4, i16x8, i32, i32x4, select, v128 } from '../emit/index.js';
import type { FuncBuilder, Local } from '../emit/index.js';
import { kernelName, type EmitContext, type KernelSpec } from '../spec.js';
import { I8_MR, I8_NR, pairBytes, type PanelBytes } from './layout.js';

/** The default: int16 panels (wb = 2), the fastest on x86 (see layout.ts). */
export const GEMM_I8_SPEC: KernelSpec = {
  op: 'gemm',
  types: 'i8i8_f32',
  tile: { mr: I8_MR, nr: I8_NR, kc: 2, mc: 64, wb: 2 },
  isa: 'simd128',
  variant: 'dot16',
  // widen reads the second code of a trailing odd pair: 1 byte past the end of A
  overreadBytes: 1,
};

/** int8 panels (wb = 1): half the weight memory, about 10% slower on x86. */
export const GEMM_I8_W8_SPEC: KernelSpec = { ...GEMM_I8_SPEC, tile: { ...GEMM_I8_SPEC.tile, wb: 1 } };

/** Bytes per weight code of a spec (tile.wb, default 1). */
export function specPanelBytes(spec: KernelSpec): PanelBytes {
  return spec.tile.wb === 2 ? 2 : 1;
}

/**
 * Add `widen` to a module: A (M, K) int8/uint8 codes at `src` -> the A16 tile layout at `dst`
 * (layout.ts), subtracting the per-row zero point zA[m] (i32 array at `zA`) and writing the
 * row sums Σ_k (A − zA) to `rowsum` when it is not 0. Group padding and rows past M are not
 * written (see layout.ts for why stale bytes there are harmless).
 */
export function addWiden(mb: ModuleBuilder): void {
  const params = { src: 'i32', M: 'i32', K: 'i32', zA: 'i32', signed: 'i32', G: 'i32', Gp: 'i32', dst: 'i32', KP: 'i32', rowsum: 'i32' } as const;
  mb.func('widen', params, [], (f, a) => {
    const m = f.local('i32', 'm');
    const g = f.local('i32', 'g');
    const ng = f.local('i32', 'ng');
    const i = f.local('i32', 'i');
    const len = f.local('i32', 'len');
    const rem = f.local('i32', 'rem');
    const s = f.local('i32', 's');
    const d = f.local('i32', 'd');
    const rowDst = f.local('i32', 'rowDst');
    const z = f.local('i32', 'z');
    const sum = f.local('i32', 'sum');
    const x0 = f.local('i32', 'x0');
    const x1 = f.local('i32', 'x1');
    const vz = f.local('v128', 'vz');
    const vsum = f.local('v128', 'vsum');
    const vx = f.local('v128', 'vx');
    const vlo = f.local('v128', 'vlo');
    const vhi = f.local('v128', 'vhi');
    f.set(ng, i32.div_u(i32.sub(i32.add(a.K, a.G), 1), a.G));
    f.for(m, 0, a.M, 1, () => {
      // row m lives in tile m>>2 at lane m&3: pair j of that row is at rowDst + 16·j
      f.set(rowDst, i32.add(a.dst, i32.add(i32.mul(i32.shr_u(m, 2), i32.shl(a.KP, 4)), i32.shl(i32.and(m, 3), 2))));
      f.set(z, i32.load(i32.add(a.zA, i32.shl(m, 2))));
      f.set(vz, i16x8.splat(z));
      f.set(vsum, v128.zero());
      f.set(sum, 0);
      f.for(g, 0, ng, 1, () => {
        f.set(s, i32.add(a.src, i32.add(i32.mul(m, a.K), i32.mul(g, a.G))));
        f.set(rem, i32.sub(a.K, i32.mul(g, a.G)));
        f.set(len, select(a.G, rem, i32.lt_s(a.G, rem)));
        f.set(d, i32.add(rowDst, i32.shl(i32.mul(g, a.Gp), 3)));
        f.set(i, 0);
        // 16 codes -> 8 pairs per step
        f.block((brk) =>
          f.loop((top) => {
            f.brIf(brk, i32.gt_s(i32.add(i, 16), len));
            f.set(vx, v128.load(i32.add(s, i)));
            f.if(
              a.signed,
              () => {
                f.set(vlo, i16x8.extend_low_i8x16_s(vx));
                f.set(vhi, i16x8.extend_high_i8x16_s(vx));
              },
              () => {
                f.set(vlo, i16x8.extend_low_i8x16_u(vx));
                f.set(vhi, i16x8.extend_high_i8x16_u(vx));
              },
            );
            f.set(vlo, i16x8.sub(vlo, vz));
            f.set(vhi, i16x8.sub(vhi, vz));
            f.set(vsum, i32x4.add(vsum, i32x4.add(i32x4.extadd_pairwise_i16x8_s(vlo), i32x4.extadd_pairwise_i16x8_s(vhi))));
            const addr = i32.add(d, i32.shl(i, 3));
            for (let l = 0; l < 4; l++) f.exec(v128.store32_lane(addr, vlo, l, 16 * l));
            for (let l = 0; l < 4; l++) f.exec(v128.store32_lane(addr, vhi, l, 64 + 16 * l));
            f.set(i, i32.add(i, 16));
            f.br(top);
          }),
        );
        // tail, one pair at a time; the second code of an odd last pair is 0
        f.block((brk) =>
          f.loop((top) => {
            f.brIf(brk, i32.ge_s(i, len));
            const p = i32.add(s, i);
            f.set(x0, i32.sub(select(i32.load8_s(p), i32.load8_u(p), a.signed), z));
            f.set(x1, select(i32.sub(select(i32.load8_s(p, 1), i32.load8_u(p, 1), a.signed), z), 0, i32.lt_s(i32.add(i, 1), len)));
            const q = i32.add(d, i32.shl(i, 3));
            f.exec(i32.store16(q, x0));
            f.exec(i32.store16(q, x1, 2));
            f.set(sum, i32.add(sum, i32.add(x0, x1)));
            f.set(i, i32.add(i, 2));
            f.br(top);
          }),
        );
      });
      f.if(a.rowsum, () => {
        const t = i32.add(
          i32.add(i32x4.extract_lane(vsum, 0), i32x4.extract_lane(vsum, 1)),
          i32.add(i32x4.extract_lane(vsum, 2), i32x4.extract_lane(vsum, 3)),
        );
        f.exec(i32.store(i32.add(a.rowsum, i32.shl(m, 2)), i32.add(sum, t)));
      });
    });
  }, 'widen');
}

/**
 * The epilogue tail every integer GEMM shares: y += bias[ep..ep+8) when `bias` is non-zero, then
 * store row m of C at column ep (dst = C + m·ldc + ep) with storeRow8.
 */
export function biasStoreRow8(
  f: FuncBuilder, o: { bias: Local; C: Local; ldc: Local; m: Local; ep: Local; dst: Local; ncols: Local }, y0: Local, y1: Local,
): void {
  f.if(o.bias, () => {
    f.set(y0, f32x4.add(y0, v128.load(i32.add(o.bias, o.ep))));
    f.set(y1, f32x4.add(y1, v128.load(i32.add(o.bias, o.ep), 16)));
  });
  f.set(o.dst, i32.add(o.C, i32.add(i32.mul(o.m, o.ldc), o.ep)));
  storeRow8(f, o.dst, o.ncols, y0, y1);
}

/**
 * Store one output row segment of 8 columns (two f32x4) at `dst`, only the first `ncols`
 * when ncols < 8 (the last panel of an N that is not a multiple of 8).
 */
export function storeRow8(f: FuncBuilder, dst: Local, ncols: Local, y0: Local, y1: Local): void {
  f.if(
    i32.eq(ncols, 8),
    () => {
      f.exec(v128.store(dst, y0));
      f.exec(v128.store(dst, y1, 16));
    },
    () => {
      for (let j = 0; j < 8; j++) {
        f.if(i32.gt_s(ncols, j), () => f.exec(v128.store32_lane(dst, j < 4 ? y0 : y1, j & 3, 4 * j)));
      }
    },
  );
}

/**
 * Row blocks of `mc` rows (spec.tile.mc): the activation rows of a block stay in L1/L2 while
 * every panel of the task passes over them (without blocking, a 19200-row A streams from
 * memory once per panel). `for (mb = t0; mb < t1; mb += mc/4) body()`, tEnd = min(mb + mc/4, t1).
 */
export function forRowBlocks(f: FuncBuilder, spec: KernelSpec, t0: Local, t1: Local, mb: Local, tEnd: Local, body: () => void): void {
  const tb = Math.max(1, Math.floor((spec.tile.mc ?? 64) / 4));
  f.for(mb, t0, t1, tb, () => {
    f.set(tEnd, i32.add(mb, tb));
    f.set(tEnd, select(t1, tEnd, i32.lt_s(t1, tEnd)));
    body();
  });
}

export function emitGemmI8(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const mb = new ModuleBuilder(kernelName(spec));
  mb.importMemory(ctx.memory);
  addWiden(mb);
  const params = {
    A16: 'i32', KP: 'i32', t0: 'i32', t1: 'i32', W: 'i32', p0: 'i32', p1: 'i32', C: 'i32', ldc: 'i32',
    M: 'i32', N: 'i32', sA: 'i32', rsA: 'i32', sW: 'i32', zW: 'i32', bias: 'i32',
  } as const;
  mb.func('gemm', params, [], (f, a) => {
    const p = f.local('i32', 'p');
    const t = f.local('i32', 't');
    const wp = f.local('i32', 'wp');
    const pa = f.local('i32', 'pa');
    const pw = f.local('i32', 'pw');
    const wend = f.local('i32', 'wend');
    const ncols = f.local('i32', 'ncols');
    const m = f.local('i32', 'm');
    const dst = f.local('i32', 'dst');
    const ep = f.local('i32', 'ep');
    const vacc: Local[][] = [];
    for (let r = 0; r < I8_MR; r++) vacc.push([f.local('v128', `vacc${r}x0123`), f.local('v128', `vacc${r}x4567`)]);
    const vbt = f.local('v128', 'vb01234567');
    const vb0 = f.local('v128', 'vb0123');
    const vb1 = f.local('v128', 'vb4567');
    const va = f.local('v128', 'va');
    const vs = f.local('v128', 'vs');
    const vrs = f.local('v128', 'vrs');
    const vy0 = f.local('v128', 'vy0123');
    const vy1 = f.local('v128', 'vy4567');
    const wb = specPanelBytes(spec);
    const panelBytes = i32.shl(a.KP, wb === 2 ? 5 : 4);

    const mb = f.local('i32', 'mb');
    const tEnd = f.local('i32', 'tEnd');
    forRowBlocks(f, spec, a.t0, a.t1, mb, tEnd, () => f.for(p, a.p0, a.p1, 1, () => {
      f.set(wp, i32.add(a.W, i32.mul(p, panelBytes)));
      f.set(ncols, i32.sub(a.N, i32.shl(p, 3)));
      f.set(ncols, select(8, ncols, i32.gt_s(ncols, 8)));
      f.set(ep, i32.shl(p, 5)); // byte offset of this panel's 8 epilogue values
      f.for(t, mb, tEnd, 1, () => {
        f.set(pa, i32.add(a.A16, i32.mul(t, i32.shl(a.KP, 4))));
        f.set(pw, wp);
        f.set(wend, i32.add(wp, panelBytes));
        for (const row of vacc) for (const v of row) f.set(v, v128.zero());
        f.loop((top) => {
          if (wb === 2) {
            f.set(vb0, v128.load(pw));
            f.set(vb1, v128.load(pw, 16));
          } else {
            f.set(vbt, v128.load(pw));
            f.set(vb0, i16x8.extend_low_i8x16_s(vbt));
            f.set(vb1, i16x8.extend_high_i8x16_s(vbt));
          }
          for (let r = 0; r < I8_MR; r++) {
            f.set(va, v128.load32_splat(pa, 4 * r));
            f.set(vacc[r][0], i32x4.add(vacc[r][0], i32x4.dot_i16x8_s(va, vb0)));
            f.set(vacc[r][1], i32x4.add(vacc[r][1], i32x4.dot_i16x8_s(va, vb1)));
          }
          f.set(pa, i32.add(pa, 4 * I8_MR));
          f.set(pw, i32.add(pw, pairBytes(wb)));
          f.brIf(top, i32.lt_u(pw, wend));
        });
        // epilogue, row by row (rows past M belong to the zero-padded last tile)
        for (let r = 0; r < I8_MR; r++) {
          f.set(m, i32.add(i32.shl(t, 2), r));
          f.if(i32.lt_s(m, a.M), () => {
            f.if(a.rsA, () => {
              f.set(vrs, v128.load32_splat(i32.add(a.rsA, i32.shl(m, 2))));
              f.set(vacc[r][0], i32x4.sub(vacc[r][0], i32x4.mul(v128.load(i32.add(a.zW, ep)), vrs)));
              f.set(vacc[r][1], i32x4.sub(vacc[r][1], i32x4.mul(v128.load(i32.add(a.zW, ep), 16), vrs)));
            });
            f.set(va, v128.load32_splat(i32.add(a.sA, i32.shl(m, 2))));
            f.set(vs, f32x4.mul(va, v128.load(i32.add(a.sW, ep))));
            f.set(vy0, f32x4.mul(f32x4.convert_i32x4_s(vacc[r][0]), vs));
            f.set(vs, f32x4.mul(va, v128.load(i32.add(a.sW, ep), 16)));
            f.set(vy1, f32x4.mul(f32x4.convert_i32x4_s(vacc[r][1]), vs));
            biasStoreRow8(f, { bias: a.bias, C: a.C, ldc: a.ldc, m, ep, dst, ncols }, vy0, vy1);
          });
        }
      });
    }));
  }, 'gemm');
  return mb;
}
