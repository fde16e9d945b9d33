/**
 * Fused attention kernel emitter: for each (b, h) of a task's range,
 *   out = softmax(q' kᵀ (scaled, masked)) v        q, k, v, out: (N, dh) row-strided views
 * bit-exact with the reference composition (attention.ts `attentionRef`):
 *   q' = fround(q·s) ('q' mode) | q;  dots = q' kᵀ (float32, d ascending);
 *   dots = fround(dots·s) ('dots' mode);  attn = softmax(dots, u8 mask);  out = attn v (j ascending).
 *
 * Why bit-exact: SIMD lanes run over output columns, never inside one sum. The dots tile
 * (4 query rows x 8 key columns, 8 f32x4 accumulators) broadcasts q'[i, d] and multiplies it
 * with 8 consecutive columns of kᵀ, d ascending, starting from +0 with f32x4.mul then
 * f32x4.add: per lane exactly gemmF32Ref's acc = fround(acc + fround(a·b)). The softmax is
 * softmax-emit.ts's softmax_rows (the reference softmax bit for bit). The output tile (4 rows x
 * 8 head columns) broadcasts attn[i, j] and multiplies v[j, d..d+7], j ascending over all N keys
 * (hidden ones contribute +0 as in the reference matmul).
 *
 * Per task scratch (attentionScratchBytes): q' (Mp x dh, Mp = N rounded up to 4, padded rows
 * zero), kᵀ (dh x Np, Np = N rounded up to 8, padded columns zero), dots and probabilities for
 * 4 rows (4 x Np f32 each) and the float64 exp scratch. Key columns >= N and masked entries
 * are -Inf before the softmax; a 4 x 8 tile the mask hides entirely skips its dots (they
 * would be replaced by -Inf anyway). Requires dh % 4 == 0 (the API falls back otherwise).
 *
 * Reads: the mask 8 bytes at a time (up to 7 past its end: overreadBytes 8); never writes
 * outside the output rows of its (b, h) range.
 */
import { ModuleBuilder, call, f32, f32x4, f64x2, i16x8, i32, i32x4, i64, i8x16, select, v128 } from '../wasm/emit/index.js';
import type { FuncBuilder, Local } from '../wasm/emit/index.js';
import type { EmitContext, KernelSpec } from '../wasm/spec.js';
import { kernelName } from '../wasm/spec.js';
import { defineSoftmaxRows } from './softmax-emit.js';

export const ATTENTION_SPEC: KernelSpec = {
  op: 'attention',
  types: 'f32_u8mask',
  what: { exp: 'ref64' },
  tile: { mr: 4, nr: 8, dr: 8 },
  isa: 'simd128',
  variant: 'f64x2',
  overreadBytes: 8,
};

/** Exported entry: attention(params, bh0, bh1, scratch); params laid out as ATTN_PARAM. */
export const ATTENTION_EXPORT = 'attention';

/** i32 word index of each field of the params block (strides in bytes); the scale is a float64 at byte ATTN_SCALE_AT. */
export const ATTN_PARAM = {
  N: 0,
  dh: 1,
  H: 2,
  /** 0: no scale, 1: scale q, 2: scale the dots */
  mode: 3,
  mask: 4,
  q: 5,
  k: 6,
  v: 7,
  o: 8,
  sQb: 9,
  sQh: 10,
  sQn: 11,
  sKb: 12,
  sKh: 13,
  sKn: 14,
  sVb: 15,
  sVh: 16,
  sVn: 17,
  sOb: 18,
  sOh: 19,
  sOn: 20,
} as const;
export const ATTN_SCALE_AT = 88;
export const ATTN_PARAM_BYTES = 96;

const HI_TO_LO = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** i8x16.shuffle lanes picking f32 lanes (0-3 from a, 4-7 from b). */
function f32Lanes(l: readonly [number, number, number, number]): number[] {
  return l.flatMap((x) => [x * 4, x * 4 + 1, x * 4 + 2, x * 4 + 3]);
}
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** Scratch bytes one task needs for sequence length N and head width dh. */
export function attentionScratchBytes(N: number, dh: number): number {
  const Np = Math.ceil(N / 8) * 8;
  const Mp = Math.ceil(N / 4) * 4;
  return (Mp * dh + dh * Np + 8 * Np) * 4 + 4 * Np * 8;
}

/** fround(x·s) on the 4 lanes of an f32x4, through float64 (s a float64 splat). */
function scaleLanes(x: Local, vs: Local) {
  return i8x16.shuffle(
    f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(x), vs)),
    f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(i8x16.shuffle(x, x, HI_TO_LO)), vs)),
    JOIN_LOW,
  );
}

export function emitAttention(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const m = new ModuleBuilder(kernelName(spec));
  m.importMemory(ctx.memory);
  const softmaxRows = defineSoftmaxRows(m);
  m.func(
    'attention',
    { prm: 'i32', bh0: 'i32', bh1: 'i32', scratch: 'i32' },
    [],
    (f, p) => {
      const L = (name: string) => f.local('i32', name);
      const N = L('N');
      const dh = L('dh');
      const H = L('H');
      const mode = L('mode');
      const mask = L('mask');
      const Np = L('Np');
      const Mp = L('Mp');
      const dhB = L('dh_bytes');
      const NpB = L('Np_bytes');
      const qs = L('qs');
      const kt = L('kt');
      const dd = L('dots');
      const pp = L('probs');
      const ee = L('exps');
      const bh = L('bh');
      const b = L('b');
      const h = L('h');
      const qb = L('qb');
      const kb = L('kb');
      const vb = L('vb');
      const ob = L('ob');
      const sQn = L('sQn');
      const sKn = L('sKn');
      const sVn = L('sVn');
      const sOn = L('sOn');
      const i = L('i');
      const j = L('j');
      const d = L('d');
      const src = L('src');
      const dst = L('dst');
      const i0 = L('i0');
      const rows = L('rows');
      const jb = L('jb');
      const pk = L('pk');
      const pv = L('pv');
      const mrow = L('mrow');
      const end = L('end');
      const any = f.local('i64', 'mask_any');
      const pr = [0, 1, 2, 3].map((r) => L(`pr${r}`));
      const vs = f.local('v128', 'vscale');
      const vx = f.local('v128', 'vx');
      const ninf = f.local('v128', 'vninf');
      const vb0 = f.local('v128', 'vb0123');
      const vb1 = f.local('v128', 'vb4567');
      const va = f.local('v128', 'va');
      const vh = f.local('v128', 'vhidden');
      const acc: Local[][] = [0, 1, 2, 3].map((r) => [f.local('v128', `vacc${r}x0123`), f.local('v128', `vacc${r}x4567`)]);
      const n4 = L('n4');
      const kr = [0, 1, 2, 3].map((r) => L(`pk_row${r}`));
      const kv = [0, 1, 2, 3].map((r) => f.local('v128', `vk_row${r}`));
      const kq = [0, 1, 2, 3].map((r) => f.local('v128', `vkt${r}`));

      const word = (k: number) => i32.load(p.prm, 4 * k);
      f.set(N, word(ATTN_PARAM.N));
      f.set(dh, word(ATTN_PARAM.dh));
      f.set(H, word(ATTN_PARAM.H));
      f.set(mode, word(ATTN_PARAM.mode));
      f.set(mask, word(ATTN_PARAM.mask));
      f.set(sQn, word(ATTN_PARAM.sQn));
      f.set(sKn, word(ATTN_PARAM.sKn));
      f.set(sVn, word(ATTN_PARAM.sVn));
      f.set(sOn, word(ATTN_PARAM.sOn));
      f.set(vs, v128.load64_splat(p.prm, ATTN_SCALE_AT));
      f.set(ninf, f32x4.splat(-Infinity));
      f.set(Np, i32.and(i32.add(N, 7), -8));
      f.set(Mp, i32.and(i32.add(N, 3), -4));
      f.set(dhB, i32.shl(dh, 2));
      f.set(NpB, i32.shl(Np, 2));
      f.set(qs, p.scratch);
      f.set(kt, i32.add(qs, i32.mul(Mp, dhB)));
      f.set(dd, i32.add(kt, i32.mul(dh, NpB)));
      f.set(pp, i32.add(dd, i32.shl(NpB, 2)));
      f.set(ee, i32.add(pp, i32.shl(NpB, 2)));

      // zero q' and kᵀ once: padded rows / columns stay zero for every (b, h)
      f.set(end, i32.sub(dd, qs));
      f.for(j, 0, end, 16, () => f.exec(v128.store(i32.add(qs, j), v128.zero())));

      f.for(bh, p.bh0, p.bh1, 1, () => {
        f.set(b, i32.div_u(bh, H));
        f.set(h, i32.rem_u(bh, H));
        const base = (ptr: number, sb: number, sh: number) => i32.add(word(ptr), i32.add(i32.mul(b, word(sb)), i32.mul(h, word(sh))));
        f.set(qb, base(ATTN_PARAM.q, ATTN_PARAM.sQb, ATTN_PARAM.sQh));
        f.set(kb, base(ATTN_PARAM.k, ATTN_PARAM.sKb, ATTN_PARAM.sKh));
        f.set(vb, base(ATTN_PARAM.v, ATTN_PARAM.sVb, ATTN_PARAM.sVh));
        f.set(ob, base(ATTN_PARAM.o, ATTN_PARAM.sOb, ATTN_PARAM.sOh));

        // q' rows (scaled through float64 in 'q' mode)
        f.for(i, 0, N, 1, () => {
          f.set(src, i32.add(qb, i32.mul(i, sQn)));
          f.set(dst, i32.add(qs, i32.mul(i, dhB)));
          f.for(d, 0, dhB, 16, () => {
            f.set(vx, v128.load(i32.add(src, d), 0, 2));
            f.if(i32.eq(mode, 1), () => f.set(vx, scaleLanes(vx, vs)));
            f.exec(v128.store(i32.add(dst, d), vx, 0, 2));
          });
        });
        // kᵀ: column j of kt is row j of k; 4 rows x 4 d at a time by a 4x4 transpose, the last N mod 4 rows element by element
        f.set(n4, i32.and(N, -4));
        f.for(j, 0, n4, 4, () => {
          for (let r = 0; r < 4; r++) f.set(kr[r], i32.add(kb, i32.mul(i32.add(j, r), sKn)));
          f.set(dst, i32.add(kt, i32.shl(j, 2)));
          f.for(d, 0, dh, 4, () => {
            for (let r = 0; r < 4; r++) f.set(kv[r], v128.load(kr[r], 0, 2));
            f.set(kq[0], i8x16.shuffle(kv[0], kv[1], f32Lanes([0, 4, 1, 5])));
            f.set(kq[1], i8x16.shuffle(kv[0], kv[1], f32Lanes([2, 6, 3, 7])));
            f.set(kq[2], i8x16.shuffle(kv[2], kv[3], f32Lanes([0, 4, 1, 5])));
            f.set(kq[3], i8x16.shuffle(kv[2], kv[3], f32Lanes([2, 6, 3, 7])));
            f.exec(v128.store(dst, i8x16.shuffle(kq[0], kq[2], f32Lanes([0, 1, 4, 5])), 0, 2));
            f.set(dst, i32.add(dst, NpB));
            f.exec(v128.store(dst, i8x16.shuffle(kq[0], kq[2], f32Lanes([2, 3, 6, 7])), 0, 2));
            f.set(dst, i32.add(dst, NpB));
            f.exec(v128.store(dst, i8x16.shuffle(kq[1], kq[3], f32Lanes([0, 1, 4, 5])), 0, 2));
            f.set(dst, i32.add(dst, NpB));
            f.exec(v128.store(dst, i8x16.shuffle(kq[1], kq[3], f32Lanes([2, 3, 6, 7])), 0, 2));
            f.set(dst, i32.add(dst, NpB));
            for (let r = 0; r < 4; r++) f.set(kr[r], i32.add(kr[r], 16));
          });
        });
        f.for(j, n4, N, 1, () => {
          f.set(src, i32.add(kb, i32.mul(j, sKn)));
          f.set(dst, i32.add(kt, i32.shl(j, 2)));
          f.for(d, 0, dh, 1, () => {
            f.exec(f32.store(dst, f32.load(src)));
            f.set(src, i32.add(src, 4));
            f.set(dst, i32.add(dst, NpB));
          });
        });

        f.for(i0, 0, N, 4, () => {
          f.set(rows, i32.sub(N, i0));
          f.if(i32.gt_s(rows, 4), () => f.set(rows, 4));
          // ---- dots for rows i0..i0+3, 8 key columns per tile
          f.for(jb, 0, NpB, 32, (_brk, next) => {
            // a tile the mask hides entirely (4 rows x 8 keys) is -Inf whatever its dots: skip them
            f.if(mask, () => {
              f.set(any, i64.const(0));
              for (let r = 0; r < 4; r++) {
                f.set(i, i32.add(i0, r));
                f.set(mrow, i32.add(mask, i32.add(i32.mul(select(i, i32.sub(N, 1), i32.lt_s(i, N)), N), i32.shr_u(jb, 2))));
                f.set(any, i64.or(any, i64.load(mrow, 0, 0)));
              }
              f.if(i64.eqz(any), () => {
                for (let r = 0; r < 4; r++) {
                  f.set(dst, i32.add(dd, i32.add(i32.mul(NpB, r), jb)));
                  f.exec(v128.store(dst, ninf, 0, 2));
                  f.exec(v128.store(dst, ninf, 16, 2));
                }
                f.br(next);
              });
            });
            for (let r = 0; r < 4; r++) {
              f.set(pr[r], i32.add(qs, i32.mul(i32.add(i0, r), dhB)));
              f.set(acc[r][0], v128.zero());
              f.set(acc[r][1], v128.zero());
            }
            f.set(pk, i32.add(kt, jb));
            f.set(end, i32.add(pr[0], dhB));
            f.loop((top) => {
              f.set(vb0, v128.load(pk, 0, 2));
              f.set(vb1, v128.load(pk, 16, 2));
              for (let r = 0; r < 4; r++) {
                f.set(va, v128.load32_splat(pr[r]));
                f.set(acc[r][0], f32x4.add(acc[r][0], f32x4.mul(va, vb0)));
                f.set(acc[r][1], f32x4.add(acc[r][1], f32x4.mul(va, vb1)));
                f.set(pr[r], i32.add(pr[r], 4));
              }
              f.set(pk, i32.add(pk, NpB));
              f.brIf(top, i32.lt_u(pr[0], end));
            });
            for (let r = 0; r < 4; r++) {
              f.if(i32.eq(mode, 2), () => {
                f.set(acc[r][0], scaleLanes(acc[r][0], vs));
                f.set(acc[r][1], scaleLanes(acc[r][1], vs));
              });
              f.if(mask, () => {
                // mask row min(i, N-1) (padded rows are never stored), columns jb/4 ..
                f.set(i, i32.add(i0, r));
                f.set(mrow, i32.add(mask, i32.add(i32.mul(select(i, i32.sub(N, 1), i32.lt_s(i, N)), N), i32.shr_u(jb, 2))));
                f.set(vh, i16x8.extend_low_i8x16_u(v128.load64_zero(mrow, 0, 0)));
                f.set(acc[r][0], v128.bitselect(ninf, acc[r][0], i32x4.eq(i32x4.extend_low_i16x8_u(vh), i32x4.splat(0))));
                f.set(acc[r][1], v128.bitselect(ninf, acc[r][1], i32x4.eq(i32x4.extend_high_i16x8_u(vh), i32x4.splat(0))));
              });
              f.set(dst, i32.add(dd, i32.add(i32.mul(NpB, r), jb)));
              f.exec(v128.store(dst, acc[r][0], 0, 2));
              f.exec(v128.store(dst, acc[r][1], 16, 2));
            }
          });
          // key columns N..Np-1 are padding: -Inf
          for (let r = 0; r < 4; r++) {
            f.set(dst, i32.add(dd, i32.mul(NpB, r)));
            f.for(j, N, Np, 1, () => f.exec(f32.store(i32.add(dst, i32.shl(j, 2)), f32.const(-Infinity))));
          }
          f.exec(call(softmaxRows, dd, NpB, rows, Np, ee, pp, NpB, N));
          // ---- out rows i0..i0+rows-1 = probs · v, 8 (then 4) head columns per tile
          const pvTile = (ff: FuncBuilder, nv: 1 | 2) => {
            for (let r = 0; r < 4; r++) {
              ff.set(pr[r], i32.add(pp, i32.mul(NpB, r)));
              for (let c = 0; c < nv; c++) ff.set(acc[r][c], v128.zero());
            }
            ff.set(pv, i32.add(vb, d));
            ff.set(end, i32.add(pr[0], i32.shl(N, 2)));
            ff.loop((top) => {
              ff.set(vb0, v128.load(pv, 0, 2));
              if (nv === 2) ff.set(vb1, v128.load(pv, 16, 2));
              for (let r = 0; r < 4; r++) {
                ff.set(va, v128.load32_splat(pr[r]));
                ff.set(acc[r][0], f32x4.add(acc[r][0], f32x4.mul(va, vb0)));
                if (nv === 2) ff.set(acc[r][1], f32x4.add(acc[r][1], f32x4.mul(va, vb1)));
                ff.set(pr[r], i32.add(pr[r], 4));
              }
              ff.set(pv, i32.add(pv, sVn));
              ff.brIf(top, i32.lt_u(pr[0], end));
            });
            for (let r = 0; r < 4; r++) {
              ff.if(i32.lt_s(r, rows), () => {
                ff.set(dst, i32.add(ob, i32.add(i32.mul(i32.add(i0, r), sOn), d)));
                ff.exec(v128.store(dst, acc[r][0], 0, 2));
                if (nv === 2) ff.exec(v128.store(dst, acc[r][1], 16, 2));
              });
            }
          };
          f.set(d, 0);
          f.block((done) => {
            f.loop((top) => {
              f.brIf(done, i32.gt_s(i32.add(d, 32), dhB));
              pvTile(f, 2);
              f.set(d, i32.add(d, 32));
              f.br(top);
            });
          });
          f.if(i32.lt_s(d, dhB), () => pvTile(f, 1));
        });
      });
    },
    ATTENTION_EXPORT,
  );
  return m;
}
