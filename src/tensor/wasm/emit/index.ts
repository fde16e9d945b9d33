/**
 * The WebAssembly binary emitter: kernels are written as typed TypeScript calls and
 * assembled to bytes here, with no external toolchain.
 *
 * Usage (a kernel that scales n floats in place, 4 lanes at a time):
 *
 * ```ts
 * import { ModuleBuilder, f32x4, v128, i32 } from './emit/index.js';
 *
 * const m = new ModuleBuilder('scale_f32__simd128');
 * m.importMemory(heapMemoryImport());              // ../heap.ts: the shared heap memory
 * m.func('scale', { p: 'i32', n: 'i32', s: 'f32' }, [], (f, a) => {
 *   const vs = f.local('v128', 'vs');
 *   const i = f.local('i32', 'i');
 *   f.set(vs, f32x4.splat(a.s));
 *   f.for(i, 0, a.n, 4, () => {                    // for (i = 0; i < n; i += 4)
 *     const addr = i32.add(a.p, i32.shl(i, 2));
 *     f.exec(v128.store(addr, f32x4.mul(v128.load(addr), vs)));
 *   });
 * }, 'scale');                                      // exported as "scale"
 * const bytes = m.toBytes();                         // then ../compile.ts compiles + caches
 * ```
 *
 * Rules:
 * - Op constructors (`i32.add`, `v128.load`, `i32x4.dot_i16x8_s`, ...) build expressions;
 *   statements (`f.set`, `f.exec`, `f.drop`, `f.push`, `f.brIf`, `f.if`, `f.block`,
 *   `f.loop`, `f.for`) emit them, operands first. A JS number operand becomes a constant
 *   of the expected type (i32 or f32).
 * - Operand types are checked while building (EmitError names the op); the bytes are then
 *   checked by WebAssembly.validate in ../compile.ts before instantiation.
 * - Memory ops take a static byte `offset` (memarg) after the address: keep one pointer per
 *   stream and reach neighbours with offsets, as XNNPACK does.
 * - Relaxed-SIMD ops mark the module with the 'relaxed-simd' feature; ../compile.ts refuses
 *   such a module unless ../probe.ts reports relaxed SIMD present and self-tested.
 */
export { Bytes, uleb, sleb32, sleb64, f32le } from './encode.js';
export { EmitError, Local, constOf, VALTYPE_CODE } from './types.js';
export type { Expr, Feature, Operand, ResultType, ValType } from './types.js';
export { ModuleBuilder, FuncBuilder, call } from './module.js';
export type { FuncRef, Label, MemoryImport } from './module.js';
export { i32, i64, f32, f64, v128, i8x16, i16x8, i32x4, i64x2, f32x4, f64x2, select, memory, typed, atomic } from './ops.js';
