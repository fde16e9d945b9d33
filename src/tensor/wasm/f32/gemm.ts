/**
 * f32 GEMM kernel emitter: C[m0:m1, n0:n1] (+)= A · Bpacked (+ bias), plain SIMD128.
 *
 * Layout (PackedF32, see pack.ts): B is cut into panels of NR columns; panel p holds, for
 * k = 0..K-1, the NR floats B(k, p·NR .. p·NR+NR-1) contiguously (zero beyond N).
 *
 * Schedule (GotoBLAS order): for each k-block of KC, for each block of MC rows, for each
 * NR-column panel (KC·NR·4 bytes stay in L1), for each MR-row tile: the micro-kernel keeps
 * an MR x NR tile of f32x4 accumulators (vacc<r>x<cols>) in registers, broadcasts one A
 * value per row (v128.load32_splat) and multiplies it with NR/4 B vectors, k unrolled KU
 * times with static memarg offsets (KU = 1 is fastest under V8 11.3, see api.ts). Variant
 * 'packa' first copies the MC x KC block of A into per-tile k-major panels (MR floats per k);
 * with MR = 4 that copy is 4x4 SIMD transposes, 4 k at a time (as pack_b), the k tail element
 * by element (docs/performance.md, "Planning", has the measured effect).
 *
 * Summation order (the contract the twin reproduces, making the kernel bit-exact with
 * ./ref.ts and with backend.ts gemmF32Ref): every C element is one lane of one accumulator,
 * acc = fround(acc + fround(a_k·b_k)) for k ascending, starting from +0 (f32x4.mul then
 * f32x4.add, no FMA); between k-blocks the partial sum is stored to C and reloaded (exact);
 * after the last block, if bias: fround(acc + bias[n]). Tiling, edge tiles and thread
 * splits therefore never change a result bit.
 *
 * Edge tiles (fewer than MR rows or NR columns) run the same micro-kernel on a per-thread
 * MR x NR scratch tile (`tmp`), copied in/out element by element. No reads past any buffer
 * (overreadBytes 0) as long as bias holds roundUp(N, NR) floats (the API pads it).
 */
import { ModuleBuilder, f32x4, i32, i8x16, v128, f32, call, select } from '../emit/index.js';
import type { Expr } from '../emit/index.js';
import type { Local } from '../emit/index.js';
import type { EmitContext, KernelSpec } from '../spec.js';
import { kernelName } from '../spec.js';

export interface GemmF32Tile {
  mr: number;
  nr: number;
  kc: number;
  mc: number;
  ku: number;
}

export function gemmTile(spec: KernelSpec): GemmF32Tile {
  const { mr, nr, kc, mc, ku } = spec.tile;
  const t = { mr, nr, kc, mc, ku };
  if (!(mr >= 1 && mr <= 8 && (ku & (ku - 1)) === 0 && (nr & (nr - 1)) === 0 && nr % 4 === 0 && nr >= 4 && nr <= 16 && kc >= ku && kc % ku === 0 && mc % mr === 0 && ku >= 1)) {
    throw new RangeError(`${kernelName(spec)}: unsupported tile ${JSON.stringify(t)}`);
  }
  return t;
}

/**
 * Exported entry: gemm(a, lda, b, k, c, ldc, bias, m0, m1, n0, n1, tmp); sizes in elements.
 * `tmp` is per-task scratch of gemmScratchBytes(spec) bytes.
 */
export const GEMM_F32_EXPORT = 'gemm';

/** Per-task scratch: the MR x NR edge tile, plus the packed A block (variant 'packa'). */
export function gemmScratchBytes(spec: KernelSpec): number {
  const { mr, nr, kc, mc } = gemmTile(spec);
  return mr * nr * 4 + (spec.variant === 'packa' ? mc * kc * 4 : 0);
}

export function emitGemmF32(spec: KernelSpec, ctx: EmitContext): ModuleBuilder {
  const { mr: MR, nr: NR, kc: KC, mc: MC, ku: KU } = gemmTile(spec);
  const NV = NR / 4; // vectors per row
  const PACK_A = spec.variant === 'packa';
  if (spec.variant !== undefined && !PACK_A) throw new RangeError(`${kernelName(spec)}: unknown variant ${spec.variant}`);
  const m = new ModuleBuilder(kernelName(spec));
  m.importMemory(ctx.memory);

  // ---- micro-kernel: MR row pointers, packed panel pointer, kb, C tile (ldc in bytes), first, bias
  const microParams: Record<string, 'i32'> = {};
  if (PACK_A) microParams.pa = 'i32';
  else for (let r = 0; r < MR; r++) microParams[`pa${r}`] = 'i32';
  Object.assign(microParams, { pb: 'i32', kb: 'i32', pc: 'i32', ldcb: 'i32', first: 'i32', pbias: 'i32' });
  const micro = m.func(`ukernel_${MR}x${NR}`, microParams, [], (f, p) => {
    const pa: Local[] = [];
    if (PACK_A) pa.push(p.pa);
    else for (let r = 0; r < MR; r++) pa.push(p[`pa${r}`]);
    const acc: Local[][] = [];
    for (let r = 0; r < MR; r++) {
      acc.push([]);
      for (let v = 0; v < NV; v++) acc[r].push(f.local('v128', `vacc${r}x${lanes(v)}`));
    }
    const vb: Local[] = [];
    for (let v = 0; v < NV; v++) vb.push(f.local('v128', `vb${lanes(v)}`));
    const va = f.local('v128', 'va');
    const pcr = f.local('i32', 'pcr');
    const pend = f.local('i32', 'pend');

    // init: zeros on the first k-block, else the partial sums from C
    f.if(
      p.first,
      () => {
        for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.set(acc[r][v], v128.zero());
      },
      () => {
        f.set(pcr, p.pc);
        for (let r = 0; r < MR; r++) {
          for (let v = 0; v < NV; v++) f.set(acc[r][v], v128.load(pcr, v * 16));
          if (r + 1 < MR) f.set(pcr, i32.add(pcr, p.ldcb));
        }
      },
    );

    const step = (u: number) => {
      for (let v = 0; v < NV; v++) f.set(vb[v], v128.load(p.pb, (u * NV + v) * 16));
      for (let r = 0; r < MR; r++) {
        f.set(va, PACK_A ? v128.load32_splat(pa[0], (u * MR + r) * 4) : v128.load32_splat(pa[r], u * 4));
        for (let v = 0; v < NV; v++) f.set(acc[r][v], f32x4.add(acc[r][v], f32x4.mul(va, vb[v])));
      }
    };
    const advance = (n: number) => {
      if (PACK_A) f.set(pa[0], i32.add(pa[0], 4 * MR * n));
      else for (let r = 0; r < MR; r++) f.set(pa[r], i32.add(pa[r], 4 * n));
      f.set(p.pb, i32.add(p.pb, NR * 4 * n));
    };
    // main loop: KU steps per iteration while at least KU remain
    f.set(pend, i32.add(p.pb, i32.mul(i32.and(p.kb, -KU), NR * 4)));
    f.block((done) => {
      f.brIf(done, i32.ge_u(p.pb, pend));
      f.loop((top) => {
        for (let u = 0; u < KU; u++) step(u);
        advance(KU);
        f.brIf(top, i32.lt_u(p.pb, pend));
      });
    });
    if (KU > 1) {
      f.set(pend, i32.add(p.pb, i32.mul(i32.rem_u(p.kb, KU), NR * 4)));
      f.block((done) => {
        f.brIf(done, i32.ge_u(p.pb, pend));
        f.loop((top) => {
          step(0);
          advance(1);
          f.brIf(top, i32.lt_u(p.pb, pend));
        });
      });
    }
    // epilogue: bias on the last k-block (pbias != 0), then store
    f.if(p.pbias, () => {
      for (let v = 0; v < NV; v++) f.set(vb[v], v128.load(p.pbias, v * 16));
      for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.set(acc[r][v], f32x4.add(acc[r][v], vb[v]));
    });
    f.set(pcr, p.pc);
    for (let r = 0; r < MR; r++) {
      for (let v = 0; v < NV; v++) f.exec(v128.store(pcr, acc[r][v], v * 16));
      if (r + 1 < MR) f.set(pcr, i32.add(pcr, p.ldcb));
    }
  });

  // ---- copy a rows x cols f32 tile between strided buffers (edge tiles)
  const copy = m.func('copy_tile', { src: 'i32', lds: 'i32', dst: 'i32', ldd: 'i32', rows: 'i32', cols: 'i32' }, [], (f, p) => {
    const r = f.local('i32', 'r');
    const c = f.local('i32', 'c');
    f.for(r, 0, p.rows, 1, () => {
      f.for(c, 0, p.cols, 1, () => {
        f.exec(f32.store(i32.add(p.dst, i32.shl(c, 2)), f32.load(i32.add(p.src, i32.shl(c, 2)))));
      });
      f.set(p.src, i32.add(p.src, p.lds));
      f.set(p.dst, i32.add(p.dst, p.ldd));
    });
  });

  // ---- driver
  m.func(
    'gemm',
    { a: 'i32', lda: 'i32', b: 'i32', k: 'i32', c: 'i32', ldc: 'i32', bias: 'i32', m0: 'i32', m1: 'i32', n0: 'i32', n1: 'i32', tmp: 'i32' },
    [],
    (f, p) => {
      const kc0 = f.local('i32', 'kc0');
      const kb = f.local('i32', 'kb');
      const first = f.local('i32', 'first');
      const biasK = f.local('i32', 'bias_k'); // bias ptr on the last k-block else 0
      const mc0 = f.local('i32', 'mc0');
      const mcEnd = f.local('i32', 'mc_end');
      const n = f.local('i32', 'n');
      const nr = f.local('i32', 'nr');
      const pbp = f.local('i32', 'pb_panel');
      const pbias = f.local('i32', 'pbias');
      const mm = f.local('i32', 'm');
      const mr = f.local('i32', 'mr');
      const pa0 = f.local('i32', 'pa0');
      const pc = f.local('i32', 'pc');
      const ldab = f.local('i32', 'lda_b');
      const ldcb = f.local('i32', 'ldc_b');
      const edge = f.local('i32', 'edge');
      const paR: Local[] = [];
      for (let r = 0; r < MR; r++) paR.push(f.local('i32', `pa_r${r}`));
      const apack = f.local('i32', 'apack');
      const pk = f.local('i32', 'pk');
      const psrc = f.local('i32', 'psrc');
      const pdst = f.local('i32', 'pdst');
      const row = f.local('i32', 'row');
      const rowPtr: Local[] = [];
      const vrow: Local[] = [];
      const tr: Local[] = [];
      const k4 = PACK_A && MR === 4 ? f.local('i32', 'k4') : row;
      if (PACK_A && MR === 4) {
        for (let r = 0; r < MR; r++) {
          rowPtr.push(f.local('i32', `pa_row${r}`));
          vrow.push(f.local('v128', `va_row${r}`));
          tr.push(f.local('v128', `vt${r}`));
        }
      }
      f.set(apack, i32.add(p.tmp, MR * NR * 4));

      f.set(ldab, i32.shl(p.lda, 2));
      f.set(ldcb, i32.shl(p.ldc, 2));
      f.for(kc0, 0, p.k, KC, () => {
        f.set(kb, i32.sub(p.k, kc0));
        f.if(i32.gt_s(kb, KC), () => f.set(kb, KC));
        f.set(first, i32.eqz(kc0));
        f.set(biasK, i32.const(0));
        f.if(i32.eq(i32.add(kc0, kb), p.k), () => f.set(biasK, p.bias));
        f.for(mc0, p.m0, p.m1, MC, () => {
          f.set(mcEnd, i32.add(mc0, MC));
          f.if(i32.gt_s(mcEnd, p.m1), () => f.set(mcEnd, p.m1));
          if (PACK_A) {
            // A[mc0:mcEnd, kc0:kc0+kb] -> per MR-row tile, k-major, MR floats per k (rows past
            // the edge repeat the last row; their results are dropped)
            f.for(mm, mc0, mcEnd, MR, () => {
              if (MR === 4) {
                // 4 k at a time: one v128 per row, a 4x4 transpose (as pack_b), 4 stores; then the k tail
                for (let r = 0; r < MR; r++) {
                  f.set(row, i32.add(mm, r));
                  f.if(i32.ge_s(row, mcEnd), () => f.set(row, i32.sub(mcEnd, 1)));
                  f.set(rowPtr[r], i32.add(p.a, i32.add(i32.mul(row, ldab), i32.shl(kc0, 2))));
                }
                f.set(pdst, i32.add(apack, i32.mul(i32.sub(mm, mc0), i32.shl(kb, 2))));
                f.set(k4, i32.and(kb, -4));
                f.for(pk, 0, k4, 4, () => {
                  for (let r = 0; r < MR; r++) f.set(vrow[r], v128.load(rowPtr[r], 0, 2));
                  f.set(tr[0], i8x16.shuffle(vrow[0], vrow[1], f32Lanes([0, 4, 1, 5])));
                  f.set(tr[1], i8x16.shuffle(vrow[0], vrow[1], f32Lanes([2, 6, 3, 7])));
                  f.set(tr[2], i8x16.shuffle(vrow[2], vrow[3], f32Lanes([0, 4, 1, 5])));
                  f.set(tr[3], i8x16.shuffle(vrow[2], vrow[3], f32Lanes([2, 6, 3, 7])));
                  f.exec(v128.store(pdst, i8x16.shuffle(tr[0], tr[2], f32Lanes([0, 1, 4, 5])), 0, 2));
                  f.exec(v128.store(pdst, i8x16.shuffle(tr[0], tr[2], f32Lanes([2, 3, 6, 7])), 16, 2));
                  f.exec(v128.store(pdst, i8x16.shuffle(tr[1], tr[3], f32Lanes([0, 1, 4, 5])), 32, 2));
                  f.exec(v128.store(pdst, i8x16.shuffle(tr[1], tr[3], f32Lanes([2, 3, 6, 7])), 48, 2));
                  for (let r = 0; r < MR; r++) f.set(rowPtr[r], i32.add(rowPtr[r], 16));
                  f.set(pdst, i32.add(pdst, 64));
                });
                f.for(pk, k4, kb, 1, () => {
                  for (let r = 0; r < MR; r++) {
                    f.exec(f32.store(pdst, f32.load(rowPtr[r]), r * 4));
                    f.set(rowPtr[r], i32.add(rowPtr[r], 4));
                  }
                  f.set(pdst, i32.add(pdst, MR * 4));
                });
                return;
              }
              for (let r = 0; r < MR; r++) {
                f.set(row, i32.add(mm, r));
                f.if(i32.ge_s(row, mcEnd), () => f.set(row, i32.sub(mcEnd, 1)));
                f.set(psrc, i32.add(p.a, i32.add(i32.mul(row, ldab), i32.shl(kc0, 2))));
                f.set(pdst, i32.add(apack, i32.add(i32.mul(i32.sub(mm, mc0), i32.shl(kb, 2)), r * 4)));
                f.for(pk, 0, kb, 1, () => {
                  f.exec(f32.store(pdst, f32.load(psrc)));
                  f.set(psrc, i32.add(psrc, 4));
                  f.set(pdst, i32.add(pdst, MR * 4));
                });
              }
            });
          }
          f.for(n, p.n0, p.n1, NR, () => {
            f.set(nr, i32.sub(p.n1, n));
            f.if(i32.gt_s(nr, NR), () => f.set(nr, NR));
            // panel n/NR, rows kc0..: b + ((n/NR)·K + kc0)·NR·4
            f.set(pbp, i32.add(p.b, i32.shl(i32.add(i32.mul(i32.div_u(n, NR), p.k), kc0), Math.log2(NR * 4))));
            if (!Number.isInteger(Math.log2(NR * 4))) throw new RangeError('nr must be a power of two');
            f.set(pbias, select(i32.add(biasK, i32.shl(n, 2)), 0, biasK));
            f.for(mm, mc0, mcEnd, MR, () => {
              f.set(mr, i32.sub(mcEnd, mm));
              f.if(i32.gt_s(mr, MR), () => f.set(mr, MR));
              if (PACK_A) f.set(pa0, i32.add(apack, i32.mul(i32.sub(mm, mc0), i32.shl(kb, 2))));
              else f.set(pa0, i32.add(p.a, i32.add(i32.mul(mm, ldab), i32.shl(kc0, 2))));
              f.set(pc, i32.add(p.c, i32.add(i32.mul(mm, ldcb), i32.shl(n, 2))));
              // rows past the edge re-read row 0 of the tile (valid memory; results dropped)
              for (let r = 0; r < MR; r++) {
                if (r === 0) f.set(paR[0], pa0);
                else if (!PACK_A) f.set(paR[r], select(i32.add(paR[r - 1], ldab), pa0, i32.lt_s(r, mr)));
              }
              const aArgs = PACK_A ? [paR[0]] : paR;
              f.set(edge, i32.or(i32.lt_s(mr, MR), i32.lt_s(nr, NR)));
              f.if(
                edge,
                () => {
                  f.if(i32.eqz(first), () => f.exec(call(copy, pc, ldcb, p.tmp, NR * 4, mr, nr)));
                  f.exec(call(micro, ...aArgs, pbp, kb, p.tmp, NR * 4, first, pbias));
                  f.exec(call(copy, p.tmp, NR * 4, pc, ldcb, mr, nr));
                },
                () => {
                  f.exec(call(micro, ...aArgs, pbp, kb, pc, ldcb, first, pbias));
                },
              );
            });
          });
        });
      });
    },
    GEMM_F32_EXPORT,
  );
  emitPackB(m, NR);
  return m;
}

/** Export packing B into panels (pack.ts layout): pack_b(src, n, k, trans, dst). */
export const PACK_B_EXPORT = 'pack_b';

/** i8x16.shuffle lanes picking f32 lanes (0-3 from a, 4-7 from b). */
function f32Lanes(l: readonly [number, number, number, number]): number[] {
  return l.flatMap((x) => [x * 4, x * 4 + 1, x * 4 + 2, x * 4 + 3]);
}

/**
 * pack_b(src, n, k, trans, dst): B (K,N) row-major, or (N,K) when trans, at `src` -> panels at
 * `dst` (pack.ts layout, zero past N). Full panels copy v128s (trans: 4x4 transposes by
 * shuffles, k in steps of 4); the last partial panel and the k tail go element by element.
 * Reads stay inside B (no overread); the result equals pack.ts packBInto bit for bit.
 */
function emitPackB(m: ModuleBuilder, NR: number): void {
  const NV = NR / 4;
  m.func(PACK_B_EXPORT, { src: 'i32', n: 'i32', k: 'i32', trans: 'i32', dst: 'i32' }, [], (f, p) => {
    const n0 = f.local('i32', 'n0');
    const w = f.local('i32', 'w');
    const kk = f.local('i32', 'kk');
    const c = f.local('i32', 'c');
    const pd = f.local('i32', 'pd');
    const ps = f.local('i32', 'ps');
    const k4 = f.local('i32', 'k4');
    const rows: ReturnType<typeof f.local>[] = [];
    for (let r = 0; r < NR; r++) rows.push(f.local('v128', `vr${r}`));
    const t: ReturnType<typeof f.local>[] = [];
    for (let r = 0; r < 4; r++) t.push(f.local('v128', `vt${r}`));
    const ldb = f.local('i32', 'ldb'); // bytes between consecutive source rows
    f.set(k4, i32.and(p.k, -4));
    f.for(n0, 0, p.n, NR, () => {
      f.set(w, i32.sub(p.n, n0));
      f.if(i32.gt_s(w, NR), () => f.set(w, NR));
      // pd = dst + (n0 / NR) * K * NR * 4
      f.set(pd, i32.add(p.dst, i32.mul(i32.mul(i32.div_u(n0, NR), p.k), NR * 4)));
      f.if(
        i32.eq(w, NR),
        () => {
          f.if(
            p.trans,
            () => {
              // rows n0..n0+NR-1 of B (N,K): 4 k at a time, NR/4 4x4 transposes
              f.set(ldb, i32.shl(p.k, 2));
              f.set(ps, i32.add(p.src, i32.mul(n0, ldb)));
              f.for(kk, 0, k4, 4, () => {
                for (let r = 0; r < NR; r++) {
                  f.set(rows[r], v128.load(r === 0 ? ps : i32.add(ps, i32.mul(ldb, r))));
                }
                for (let g = 0; g < NV; g++) {
                  const [a, b, cc, d] = [rows[4 * g], rows[4 * g + 1], rows[4 * g + 2], rows[4 * g + 3]];
                  f.set(t[0], i8x16.shuffle(a, b, f32Lanes([0, 4, 1, 5])));
                  f.set(t[1], i8x16.shuffle(a, b, f32Lanes([2, 6, 3, 7])));
                  f.set(t[2], i8x16.shuffle(cc, d, f32Lanes([0, 4, 1, 5])));
                  f.set(t[3], i8x16.shuffle(cc, d, f32Lanes([2, 6, 3, 7])));
                  const outs: Expr[] = [
                    i8x16.shuffle(t[0], t[2], f32Lanes([0, 1, 4, 5])),
                    i8x16.shuffle(t[0], t[2], f32Lanes([2, 3, 6, 7])),
                    i8x16.shuffle(t[1], t[3], f32Lanes([0, 1, 4, 5])),
                    i8x16.shuffle(t[1], t[3], f32Lanes([2, 3, 6, 7])),
                  ];
                  outs.forEach((o, kq) => f.exec(v128.store(pd, o, kq * NR * 4 + g * 16)));
                }
                f.set(ps, i32.add(ps, 16));
                f.set(pd, i32.add(pd, 4 * NR * 4));
              });
              // k tail: element by element
              f.for(kk, k4, p.k, 1, () => {
                f.for(c, 0, NR, 1, () => {
                  f.exec(f32.store(i32.add(pd, i32.shl(c, 2)), f32.load(i32.add(ps, i32.mul(c, ldb)))));
                });
                f.set(ps, i32.add(ps, 4));
                f.set(pd, i32.add(pd, NR * 4));
              });
            },
            () => {
              // B (K,N): NR contiguous floats per k
              f.set(ldb, i32.shl(p.n, 2));
              f.set(ps, i32.add(p.src, i32.shl(n0, 2)));
              f.for(kk, 0, p.k, 1, () => {
                for (let v = 0; v < NV; v++) f.exec(v128.store(pd, v128.load(ps, v * 16), v * 16));
                f.set(ps, i32.add(ps, ldb));
                f.set(pd, i32.add(pd, NR * 4));
              });
            },
          );
        },
        () => {
          // partial panel: w < NR columns, zeros after
          f.for(kk, 0, p.k, 1, () => {
            for (let v = 0; v < NV; v++) f.exec(v128.store(pd, v128.zero(), v * 16));
            f.for(c, 0, w, 1, () => {
              const srcIdx = select(i32.add(i32.mul(i32.add(n0, c), p.k), kk), i32.add(i32.mul(kk, p.n), i32.add(n0, c)), p.trans);
              f.exec(f32.store(i32.add(pd, i32.shl(c, 2)), f32.load(i32.add(p.src, i32.shl(srcIdx, 2)))));
            });
            f.set(pd, i32.add(pd, NR * 4));
          });
        },
      );
    });
  }, PACK_B_EXPORT);
}

function lanes(v: number): string {
  return [0, 1, 2, 3].map((l) => (v * 4 + l).toString(16)).join('');
}

