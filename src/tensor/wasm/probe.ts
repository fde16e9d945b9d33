/**
 * Feature probes (validated once, cached). Plain SIMD128 is the default path; relaxed SIMD
 * is an optional extra that must both validate and pass a numeric self-test, because Node 20
 * needs a flag for it and its baseline compiler (Liftoff) miscompiles
 * i32x4.relaxed_dot_i8x16_i7x16_add_s (returns 2·dot, drops the accumulator; see
 * shared/reference/runtime-and-quant-anchors.md §3.1). A fresh module runs in Liftoff first,
 * so the self-test below sees exactly the tier that a kernel's first calls would use.
 *
 * Probe WAT:
 *   (module (func (result v128) (i32x4.dot_i16x8_s (v128.const i64x2 0 0) (v128.const i64x2 0 0))))   ; simd128
 *   (module (func (export "t") (param i32) (result i32)                                            ; relaxed
 *     (i32x4.extract_lane 0 (i32x4.relaxed_dot_i8x16_i7x16_add_s
 *        (i8x16.splat (local.get 0)) (i8x16.splat (i32.const 1)) (v128.const i32x4 10 20 30 40)))))
 *   expected t(1) = 4·1·1 + 10 = 14 (Liftoff on Node 20 gives 8), t(3) = 22.
 */
import { ModuleBuilder, i32x4, i8x16, v128 } from './emit/index.js';

let simd: boolean | null = null;
let relaxed: boolean | null = null;
let relaxedForced: boolean | null = null;

function tryModule(build: (m: ModuleBuilder) => void): WebAssembly.Instance | null {
  const m = new ModuleBuilder('probe');
  build(m);
  const bytes = m.toBytes();
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return null;
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  } catch {
    return null;
  }
}

/** WebAssembly with fixed-width SIMD (incl. i32x4.dot_i16x8_s) is available. */
export function hasSimd128(): boolean {
  if (simd === null) {
    simd =
      tryModule((m) =>
        m.func('t', {}, ['v128'], (f) => f.push(i32x4.dot_i16x8_s(v128.zero(), v128.zero())), 't'),
      ) !== null;
  }
  return simd;
}

/** Relaxed SIMD validates AND the relaxed dot self-test returns the specified values. */
export function hasRelaxedSimd(): boolean {
  if (relaxedForced !== null) return relaxedForced;
  if (relaxed === null) {
    const inst = tryModule((m) =>
      m.func('t', { a: 'i32' }, ['i32'], (f, p) =>
        f.push(i32x4.extract_lane(i32x4.relaxed_dot_i8x16_i7x16_add_s(i8x16.splat(p.a), i8x16.splat(1), v128.const_i32x4([10, 20, 30, 40])), 0)), 't'),
    );
    if (!inst) relaxed = false;
    else {
      const t = inst.exports.t as (a: number) => number;
      relaxed = t(1) === 14 && t(3) === 22 && t(-2) === 2;
    }
  }
  return relaxed;
}

/** Tests only: force the relaxed answer (null restores detection). */
export function forceRelaxedSimd(v: boolean | null): void {
  relaxedForced = v;
}
