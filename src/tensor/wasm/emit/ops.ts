/**
 * Typed instruction constructors, named as in the WebAssembly text format
 * (`i32x4.dot_i16x8_s`, `i16x8.extmul_low_i8x16_s`, `v128.load32_splat`, ...).
 *
 * Every constructor returns an `Expr`; nothing is emitted until a statement consumes it.
 * Memory ops take `(addr, [value,] offset = 0, alignLog2 = natural)`; the offset is the
 * static memarg offset in bytes (free address arithmetic in V8), so kernels keep one base
 * pointer per stream and address neighbours with offsets.
 */
import { uleb } from './encode.js';
import { EmitError, constOf, leaf, node, operand } from './types.js';
import type { Expr, Feature, Operand, ValType } from './types.js';

type Un = (a: Operand) => Expr;
type Bin = (a: Operand, b: Operand) => Expr;
type Tern = (a: Operand, b: Operand, c: Operand) => Expr;
type Load = (addr: Operand, offset?: number, alignLog2?: number) => Expr;
type Store = (addr: Operand, value: Operand, offset?: number, alignLog2?: number) => Expr;

const simd = (code: number): number[] => [0xfd, ...uleb(code)];

function table<T extends Record<string, number>, F>(t: T, make: (name: string, code: number) => F): { [K in keyof T]: F } {
  const out = {} as { [K in keyof T]: F };
  for (const k of Object.keys(t) as (keyof T & string)[]) out[k] = make(k, t[k]);
  return out;
}

function un<T extends Record<string, number>>(prefix: string, t: T, inT: ValType, outT: ValType, isSimd: boolean, feature?: Feature) {
  return table(t, (name, code) => ((a: Operand) =>
    node(`${prefix}.${name}`, [inT], outT, [a], isSimd ? simd(code) : [code], `${prefix}.${name}`, feature ?? (isSimd ? 'simd128' : undefined))) as Un);
}

function bin<T extends Record<string, number>>(prefix: string, t: T, inT: ValType, outT: ValType, isSimd: boolean, feature?: Feature) {
  return table(t, (name, code) => ((a: Operand, b: Operand) =>
    node(`${prefix}.${name}`, [inT, inT], outT, [a, b], isSimd ? simd(code) : [code], `${prefix}.${name}`, feature ?? (isSimd ? 'simd128' : undefined))) as Bin);
}

/** Shifts: (v128, i32 count) -> v128. */
function shifts<T extends Record<string, number>>(prefix: string, t: T) {
  return table(t, (name, code) => ((a: Operand, b: Operand) =>
    node(`${prefix}.${name}`, ['v128', 'i32'], 'v128', [a, b], simd(code), `${prefix}.${name}`, 'simd128')) as Bin);
}

function memarg(op: string, offset: number, alignLog2: number, natural: number): { bytes: number[]; text: string } {
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff) throw new EmitError(op, `offset ${offset} is not a u32`);
  if (!Number.isInteger(alignLog2) || alignLog2 < 0 || alignLog2 > natural) {
    throw new EmitError(op, `align 2^${alignLog2} exceeds natural alignment 2^${natural}`);
  }
  let text = '';
  if (offset !== 0) text += ` offset=${offset}`;
  if (alignLog2 !== natural) text += ` align=${1 << alignLog2}`;
  return { bytes: [...uleb(alignLog2), ...uleb(offset)], text };
}

function load(op: string, opcode: number[], out: ValType, natural: number, feature?: Feature): Load {
  return (addr, offset = 0, alignLog2 = natural) => {
    const m = memarg(op, offset, alignLog2, natural);
    return node(op, ['i32'], out, [addr], [...opcode, ...m.bytes], op + m.text, feature);
  };
}

function store(op: string, opcode: number[], valT: ValType, natural: number, feature?: Feature): Store {
  return (addr, value, offset = 0, alignLog2 = natural) => {
    const m = memarg(op, offset, alignLog2, natural);
    return node(op, ['i32', valT], 'void', [addr, value], [...opcode, ...m.bytes], op + m.text, feature);
  };
}

function laneIndex(op: string, lane: number, lanes: number): number {
  if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) throw new EmitError(op, `lane ${lane} outside [0, ${lanes})`);
  return lane;
}

function extract(op: string, code: number, lanes: number, out: ValType) {
  return (v: Operand, lane: number) =>
    node(op, ['v128'], out, [v], [...simd(code), laneIndex(op, lane, lanes)], `${op} ${lane}`, 'simd128');
}

function replace(op: string, code: number, lanes: number, scalar: ValType) {
  return (v: Operand, lane: number, x: Operand) =>
    node(op, ['v128', scalar], 'v128', [v, x], [...simd(code), laneIndex(op, lane, lanes)], `${op} ${lane}`, 'simd128');
}

/** Lane load: (addr, vector, lane) -> vector with that lane loaded. */
function loadLane(op: string, code: number, lanes: number, natural: number) {
  return (addr: Operand, v: Operand, lane: number, offset = 0, alignLog2 = natural) => {
    const m = memarg(op, offset, alignLog2, natural);
    return node(op, ['i32', 'v128'], 'v128', [addr, v], [...simd(code), ...m.bytes, laneIndex(op, lane, lanes)], `${op}${m.text} ${lane}`, 'simd128');
  };
}

/** Lane store: writes one lane of `v` to addr+offset. */
function storeLane(op: string, code: number, lanes: number, natural: number) {
  return (addr: Operand, v: Operand, lane: number, offset = 0, alignLog2 = natural) => {
    const m = memarg(op, offset, alignLog2, natural);
    return node(op, ['i32', 'v128'], 'void', [addr, v], [...simd(code), ...m.bytes, laneIndex(op, lane, lanes)], `${op}${m.text} ${lane}`, 'simd128');
  };
}

function splat(op: string, code: number, scalar: ValType): Un {
  return (a) => node(op, [scalar], 'v128', [a], simd(code), op, 'simd128');
}

// ---------------------------------------------------------------- scalar i32 / i64 / f32 / f64

export const i32 = {
  const: (v: number): Expr => constOf('i32', v),
  ...bin('i32', { add: 0x6a, sub: 0x6b, mul: 0x6c, div_s: 0x6d, div_u: 0x6e, rem_s: 0x6f, rem_u: 0x70, and: 0x71, or: 0x72, xor: 0x73, shl: 0x74, shr_s: 0x75, shr_u: 0x76, rotl: 0x77, rotr: 0x78 }, 'i32', 'i32', false),
  ...bin('i32', { eq: 0x46, ne: 0x47, lt_s: 0x48, lt_u: 0x49, gt_s: 0x4a, gt_u: 0x4b, le_s: 0x4c, le_u: 0x4d, ge_s: 0x4e, ge_u: 0x4f }, 'i32', 'i32', false),
  ...un('i32', { eqz: 0x45, clz: 0x67, ctz: 0x68, popcnt: 0x69, extend8_s: 0xc0, extend16_s: 0xc1 }, 'i32', 'i32', false),
  wrap_i64: (a: Operand) => node('i32.wrap_i64', ['i64'], 'i32', [a], [0xa7]),
  trunc_f32_s: (a: Operand) => node('i32.trunc_f32_s', ['f32'], 'i32', [a], [0xa8]),
  trunc_sat_f32_s: (a: Operand) => node('i32.trunc_sat_f32_s', ['f32'], 'i32', [a], [0xfc, 0x00]),
  trunc_sat_f32_u: (a: Operand) => node('i32.trunc_sat_f32_u', ['f32'], 'i32', [a], [0xfc, 0x01]),
  reinterpret_f32: (a: Operand) => node('i32.reinterpret_f32', ['f32'], 'i32', [a], [0xbc]),
  load: load('i32.load', [0x28], 'i32', 2),
  load8_s: load('i32.load8_s', [0x2c], 'i32', 0),
  load8_u: load('i32.load8_u', [0x2d], 'i32', 0),
  load16_s: load('i32.load16_s', [0x2e], 'i32', 1),
  load16_u: load('i32.load16_u', [0x2f], 'i32', 1),
  store: store('i32.store', [0x36], 'i32', 2),
  store8: store('i32.store8', [0x3a], 'i32', 0),
  store16: store('i32.store16', [0x3b], 'i32', 1),
};

export const i64 = {
  const: (v: number | bigint): Expr => constOf('i64', v),
  ...bin('i64', { add: 0x7c, sub: 0x7d, mul: 0x7e, div_s: 0x7f, div_u: 0x80, rem_s: 0x81, rem_u: 0x82, and: 0x83, or: 0x84, xor: 0x85, shl: 0x86, shr_s: 0x87, shr_u: 0x88 }, 'i64', 'i64', false),
  ...bin('i64', { eq: 0x51, ne: 0x52, lt_s: 0x53, lt_u: 0x54, gt_s: 0x55, gt_u: 0x56, le_s: 0x57, le_u: 0x58, ge_s: 0x59, ge_u: 0x5a }, 'i64', 'i32', false),
  eqz: (a: Operand) => node('i64.eqz', ['i64'], 'i32', [a], [0x50]),
  extend_i32_s: (a: Operand) => node('i64.extend_i32_s', ['i32'], 'i64', [a], [0xac]),
  extend_i32_u: (a: Operand) => node('i64.extend_i32_u', ['i32'], 'i64', [a], [0xad]),
  load: load('i64.load', [0x29], 'i64', 3),
  store: store('i64.store', [0x37], 'i64', 3),
};

export const f32 = {
  const: (v: number): Expr => constOf('f32', v),
  ...bin('f32', { add: 0x92, sub: 0x93, mul: 0x94, div: 0x95, min: 0x96, max: 0x97, copysign: 0x98 }, 'f32', 'f32', false),
  ...bin('f32', { eq: 0x5b, ne: 0x5c, lt: 0x5d, gt: 0x5e, le: 0x5f, ge: 0x60 }, 'f32', 'i32', false),
  ...un('f32', { abs: 0x8b, neg: 0x8c, ceil: 0x8d, floor: 0x8e, trunc: 0x8f, nearest: 0x90, sqrt: 0x91 }, 'f32', 'f32', false),
  convert_i32_s: (a: Operand) => node('f32.convert_i32_s', ['i32'], 'f32', [a], [0xb2]),
  convert_i32_u: (a: Operand) => node('f32.convert_i32_u', ['i32'], 'f32', [a], [0xb3]),
  demote_f64: (a: Operand) => node('f32.demote_f64', ['f64'], 'f32', [a], [0xb6]),
  reinterpret_i32: (a: Operand) => node('f32.reinterpret_i32', ['i32'], 'f32', [a], [0xbe]),
  load: load('f32.load', [0x2a], 'f32', 2),
  store: store('f32.store', [0x38], 'f32', 2),
};

export const f64 = {
  const: (v: number): Expr => constOf('f64', v),
  ...bin('f64', { add: 0xa0, sub: 0xa1, mul: 0xa2, div: 0xa3, min: 0xa4, max: 0xa5 }, 'f64', 'f64', false),
  ...bin('f64', { eq: 0x61, ne: 0x62, lt: 0x63, gt: 0x64, le: 0x65, ge: 0x66 }, 'f64', 'i32', false),
  ...un('f64', { abs: 0x99, neg: 0x9a, ceil: 0x9b, floor: 0x9c, trunc: 0x9d, nearest: 0x9e, sqrt: 0x9f }, 'f64', 'f64', false),
  convert_i32_s: (a: Operand) => node('f64.convert_i32_s', ['i32'], 'f64', [a], [0xb7]),
  promote_f32: (a: Operand) => node('f64.promote_f32', ['f32'], 'f64', [a], [0xbb]),
  load: load('f64.load', [0x2b], 'f64', 3),
  store: store('f64.store', [0x39], 'f64', 3),
};

// ---------------------------------------------------------------- SIMD128

function bytes16(op: string, b: ArrayLike<number>): number[] {
  if (b.length !== 16) throw new EmitError(op, `needs 16 bytes, got ${b.length}`);
  return Array.from(b, (x) => x & 0xff);
}

export const v128 = {
  /** v128.const from 16 raw little-endian bytes. */
  const_bytes: (b: ArrayLike<number>): Expr => {
    const bs = bytes16('v128.const', b);
    return leaf('v128', `v128.const i8x16 ${bs.join(' ')}`, [...simd(0x0c), ...bs], 'simd128');
  },
  const_i8x16: (l: readonly number[]) => v128.const_bytes(new Uint8Array(Int8Array.from(l).buffer)),
  const_i16x8: (l: readonly number[]) => v128.const_bytes(new Uint8Array(Int16Array.from(l).buffer)),
  const_i32x4: (l: readonly number[]) => v128.const_bytes(new Uint8Array(Int32Array.from(l).buffer)),
  const_f32x4: (l: readonly number[]) => v128.const_bytes(new Uint8Array(Float32Array.from(l).buffer)),
  /** All-zero vector. */
  zero: (): Expr => v128.const_bytes(new Uint8Array(16)),
  load: load('v128.load', simd(0x00), 'v128', 4, 'simd128'),
  load8x8_s: load('v128.load8x8_s', simd(0x01), 'v128', 3, 'simd128'),
  load8x8_u: load('v128.load8x8_u', simd(0x02), 'v128', 3, 'simd128'),
  load16x4_s: load('v128.load16x4_s', simd(0x03), 'v128', 3, 'simd128'),
  load16x4_u: load('v128.load16x4_u', simd(0x04), 'v128', 3, 'simd128'),
  load32x2_s: load('v128.load32x2_s', simd(0x05), 'v128', 3, 'simd128'),
  load32x2_u: load('v128.load32x2_u', simd(0x06), 'v128', 3, 'simd128'),
  load8_splat: load('v128.load8_splat', simd(0x07), 'v128', 0, 'simd128'),
  load16_splat: load('v128.load16_splat', simd(0x08), 'v128', 1, 'simd128'),
  load32_splat: load('v128.load32_splat', simd(0x09), 'v128', 2, 'simd128'),
  load64_splat: load('v128.load64_splat', simd(0x0a), 'v128', 3, 'simd128'),
  load32_zero: load('v128.load32_zero', simd(0x5c), 'v128', 2, 'simd128'),
  load64_zero: load('v128.load64_zero', simd(0x5d), 'v128', 3, 'simd128'),
  store: store('v128.store', simd(0x0b), 'v128', 4, 'simd128'),
  load8_lane: loadLane('v128.load8_lane', 0x54, 16, 0),
  load16_lane: loadLane('v128.load16_lane', 0x55, 8, 1),
  load32_lane: loadLane('v128.load32_lane', 0x56, 4, 2),
  load64_lane: loadLane('v128.load64_lane', 0x57, 2, 3),
  store8_lane: storeLane('v128.store8_lane', 0x58, 16, 0),
  store16_lane: storeLane('v128.store16_lane', 0x59, 8, 1),
  store32_lane: storeLane('v128.store32_lane', 0x5a, 4, 2),
  store64_lane: storeLane('v128.store64_lane', 0x5b, 2, 3),
  ...bin('v128', { and: 0x4e, andnot: 0x4f, or: 0x50, xor: 0x51 }, 'v128', 'v128', true),
  not: ((a: Operand) => node('v128.not', ['v128'], 'v128', [a], simd(0x4d), 'v128.not', 'simd128')) as Un,
  any_true: ((a: Operand) => node('v128.any_true', ['v128'], 'i32', [a], simd(0x53), 'v128.any_true', 'simd128')) as Un,
  bitselect: ((a: Operand, b: Operand, c: Operand) =>
    node('v128.bitselect', ['v128', 'v128', 'v128'], 'v128', [a, b, c], simd(0x52), 'v128.bitselect', 'simd128')) as Tern,
};

export const i8x16 = {
  splat: splat('i8x16.splat', 0x0f, 'i32'),
  extract_lane_s: extract('i8x16.extract_lane_s', 0x15, 16, 'i32'),
  extract_lane_u: extract('i8x16.extract_lane_u', 0x16, 16, 'i32'),
  replace_lane: replace('i8x16.replace_lane', 0x17, 16, 'i32'),
  /** i8x16.shuffle a b lanes: lanes[i] in [0,32) picks byte i from a (0-15) or b (16-31). */
  shuffle: (a: Operand, b: Operand, lanes: readonly number[]): Expr => {
    const ls = bytes16('i8x16.shuffle', lanes);
    for (const l of ls) if (l > 31) throw new EmitError('i8x16.shuffle', `lane index ${l} > 31`);
    return node('i8x16.shuffle', ['v128', 'v128'], 'v128', [a, b], [...simd(0x0d), ...ls], `i8x16.shuffle ${ls.join(' ')}`, 'simd128');
  },
  ...bin('i8x16', { swizzle: 0x0e, eq: 0x23, ne: 0x24, lt_s: 0x25, lt_u: 0x26, gt_s: 0x27, gt_u: 0x28, le_s: 0x29, le_u: 0x2a, ge_s: 0x2b, ge_u: 0x2c,
    narrow_i16x8_s: 0x65, narrow_i16x8_u: 0x66, add: 0x6e, add_sat_s: 0x6f, add_sat_u: 0x70, sub: 0x71, sub_sat_s: 0x72, sub_sat_u: 0x73,
    min_s: 0x76, min_u: 0x77, max_s: 0x78, max_u: 0x79, avgr_u: 0x7b }, 'v128', 'v128', true),
  ...un('i8x16', { abs: 0x60, neg: 0x61, popcnt: 0x62 }, 'v128', 'v128', true),
  ...un('i8x16', { all_true: 0x63, bitmask: 0x64 }, 'v128', 'i32', true),
  ...shifts('i8x16', { shl: 0x6b, shr_s: 0x6c, shr_u: 0x6d }),
  relaxed_swizzle: ((a: Operand, b: Operand) =>
    node('i8x16.relaxed_swizzle', ['v128', 'v128'], 'v128', [a, b], simd(0x100), 'i8x16.relaxed_swizzle', 'relaxed-simd')) as Bin,
};

export const i16x8 = {
  splat: splat('i16x8.splat', 0x10, 'i32'),
  extract_lane_s: extract('i16x8.extract_lane_s', 0x18, 8, 'i32'),
  extract_lane_u: extract('i16x8.extract_lane_u', 0x19, 8, 'i32'),
  replace_lane: replace('i16x8.replace_lane', 0x1a, 8, 'i32'),
  ...bin('i16x8', { eq: 0x2d, ne: 0x2e, lt_s: 0x2f, lt_u: 0x30, gt_s: 0x31, gt_u: 0x32, le_s: 0x33, le_u: 0x34, ge_s: 0x35, ge_u: 0x36,
    q15mulr_sat_s: 0x82, narrow_i32x4_s: 0x85, narrow_i32x4_u: 0x86, add: 0x8e, add_sat_s: 0x8f, add_sat_u: 0x90, sub: 0x91, sub_sat_s: 0x92,
    sub_sat_u: 0x93, mul: 0x95, min_s: 0x96, min_u: 0x97, max_s: 0x98, max_u: 0x99, avgr_u: 0x9b,
    extmul_low_i8x16_s: 0x9c, extmul_high_i8x16_s: 0x9d, extmul_low_i8x16_u: 0x9e, extmul_high_i8x16_u: 0x9f }, 'v128', 'v128', true),
  ...un('i16x8', { extadd_pairwise_i8x16_s: 0x7c, extadd_pairwise_i8x16_u: 0x7d, abs: 0x80, neg: 0x81,
    extend_low_i8x16_s: 0x87, extend_high_i8x16_s: 0x88, extend_low_i8x16_u: 0x89, extend_high_i8x16_u: 0x8a }, 'v128', 'v128', true),
  ...un('i16x8', { all_true: 0x83, bitmask: 0x84 }, 'v128', 'i32', true),
  ...shifts('i16x8', { shl: 0x8b, shr_s: 0x8c, shr_u: 0x8d }),
  /** Relaxed (implementation-defined for b lanes with the top bit set); gate behind probe.ts. */
  relaxed_dot_i8x16_i7x16_s: ((a: Operand, b: Operand) =>
    node('i16x8.relaxed_dot_i8x16_i7x16_s', ['v128', 'v128'], 'v128', [a, b], simd(0x112), 'i16x8.relaxed_dot_i8x16_i7x16_s', 'relaxed-simd')) as Bin,
};

export const i32x4 = {
  splat: splat('i32x4.splat', 0x11, 'i32'),
  extract_lane: extract('i32x4.extract_lane', 0x1b, 4, 'i32'),
  replace_lane: replace('i32x4.replace_lane', 0x1c, 4, 'i32'),
  ...bin('i32x4', { eq: 0x37, ne: 0x38, lt_s: 0x39, lt_u: 0x3a, gt_s: 0x3b, gt_u: 0x3c, le_s: 0x3d, le_u: 0x3e, ge_s: 0x3f, ge_u: 0x40,
    add: 0xae, sub: 0xb1, mul: 0xb5, min_s: 0xb6, min_u: 0xb7, max_s: 0xb8, max_u: 0xb9, dot_i16x8_s: 0xba,
    extmul_low_i16x8_s: 0xbc, extmul_high_i16x8_s: 0xbd, extmul_low_i16x8_u: 0xbe, extmul_high_i16x8_u: 0xbf }, 'v128', 'v128', true),
  ...un('i32x4', { extadd_pairwise_i16x8_s: 0x7e, extadd_pairwise_i16x8_u: 0x7f, abs: 0xa0, neg: 0xa1,
    extend_low_i16x8_s: 0xa7, extend_high_i16x8_s: 0xa8, extend_low_i16x8_u: 0xa9, extend_high_i16x8_u: 0xaa,
    trunc_sat_f32x4_s: 0xf8, trunc_sat_f32x4_u: 0xf9, trunc_sat_f64x2_s_zero: 0xfc, trunc_sat_f64x2_u_zero: 0xfd }, 'v128', 'v128', true),
  ...un('i32x4', { all_true: 0xa3, bitmask: 0xa4 }, 'v128', 'i32', true),
  ...shifts('i32x4', { shl: 0xab, shr_s: 0xac, shr_u: 0xad }),
  /** Relaxed: a·b (i8 x i7 pairs -> i16 -> summed into i32 lanes) + c. Gate behind probe.ts. */
  relaxed_dot_i8x16_i7x16_add_s: ((a: Operand, b: Operand, c: Operand) =>
    node('i32x4.relaxed_dot_i8x16_i7x16_add_s', ['v128', 'v128', 'v128'], 'v128', [a, b, c], simd(0x113), 'i32x4.relaxed_dot_i8x16_i7x16_add_s', 'relaxed-simd')) as Tern,
};

export const i64x2 = {
  splat: splat('i64x2.splat', 0x12, 'i64'),
  extract_lane: extract('i64x2.extract_lane', 0x1d, 2, 'i64'),
  replace_lane: replace('i64x2.replace_lane', 0x1e, 2, 'i64'),
  ...bin('i64x2', { add: 0xce, sub: 0xd1, mul: 0xd5, eq: 0xd6, ne: 0xd7 }, 'v128', 'v128', true),
  ...un('i64x2', { extend_low_i32x4_s: 0xc7, extend_high_i32x4_s: 0xc8, extend_low_i32x4_u: 0xc9, extend_high_i32x4_u: 0xca }, 'v128', 'v128', true),
  ...shifts('i64x2', { shl: 0xcb, shr_s: 0xcc, shr_u: 0xcd }),
};

export const f32x4 = {
  splat: splat('f32x4.splat', 0x13, 'f32'),
  extract_lane: extract('f32x4.extract_lane', 0x1f, 4, 'f32'),
  replace_lane: replace('f32x4.replace_lane', 0x20, 4, 'f32'),
  ...bin('f32x4', { eq: 0x41, ne: 0x42, lt: 0x43, gt: 0x44, le: 0x45, ge: 0x46,
    add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, min: 0xe8, max: 0xe9, pmin: 0xea, pmax: 0xeb }, 'v128', 'v128', true),
  ...un('f32x4', { ceil: 0x67, floor: 0x68, trunc: 0x69, nearest: 0x6a, abs: 0xe0, neg: 0xe1, sqrt: 0xe3,
    convert_i32x4_s: 0xfa, convert_i32x4_u: 0xfb, demote_f64x2_zero: 0x5e }, 'v128', 'v128', true),
  /** Relaxed: a*b+c, fused or not (implementation-defined). Gate behind probe.ts. */
  relaxed_madd: ((a: Operand, b: Operand, c: Operand) =>
    node('f32x4.relaxed_madd', ['v128', 'v128', 'v128'], 'v128', [a, b, c], simd(0x105), 'f32x4.relaxed_madd', 'relaxed-simd')) as Tern,
  relaxed_nmadd: ((a: Operand, b: Operand, c: Operand) =>
    node('f32x4.relaxed_nmadd', ['v128', 'v128', 'v128'], 'v128', [a, b, c], simd(0x106), 'f32x4.relaxed_nmadd', 'relaxed-simd')) as Tern,
};

export const f64x2 = {
  splat: splat('f64x2.splat', 0x14, 'f64'),
  extract_lane: extract('f64x2.extract_lane', 0x21, 2, 'f64'),
  replace_lane: replace('f64x2.replace_lane', 0x22, 2, 'f64'),
  ...bin('f64x2', { eq: 0x47, ne: 0x48, lt: 0x49, gt: 0x4a, le: 0x4b, ge: 0x4c,
    add: 0xf0, sub: 0xf1, mul: 0xf2, div: 0xf3, min: 0xf4, max: 0xf5, pmin: 0xf6, pmax: 0xf7 }, 'v128', 'v128', true),
  ...un('f64x2', { ceil: 0x74, floor: 0x75, trunc: 0x7a, nearest: 0x94, abs: 0xec, neg: 0xed, sqrt: 0xef,
    promote_low_f32x4: 0x5f, convert_low_i32x4_s: 0xfe, convert_low_i32x4_u: 0xff }, 'v128', 'v128', true),
};

/** select(a, b, cond): a if cond != 0 else b; a and b of one type (any value type). */
export function select(a: Operand, b: Operand, cond: Operand): Expr {
  const ea = typeof a === 'number' ? constOf('i32', a) : a;
  if (ea.type === 'void') throw new EmitError('select', 'operand 0 is void');
  const t = ea.type;
  return node('select', [t, t, 'i32'], t, [ea, b, cond], [0x1b]);
}

export const memory = {
  /** Current size in 64 KiB pages. */
  size: (): Expr => leaf('i32', 'memory.size', [0x3f, 0x00]),
  /** Grow by n pages; returns the old size or -1. */
  grow: (n: Operand): Expr => node('memory.grow', ['i32'], 'i32', [n], [0x40, 0x00]),
};

/** Make a typed operand explicit (useful when a number should be an f32 constant). */
export function typed(o: Operand, t: ValType): Expr {
  return operand('typed', 0, o, t);
}

// ---------------------------------------------------------------- atomics (threads proposal)

const atomicOp = (code: number): number[] => [0xfe, ...uleb(code)];

/** Sequentially consistent atomics on the (shared) memory; natural alignment is required. */
export const atomic = {
  i32_load: (addr: Operand, offset = 0): Expr => {
    const m = memarg('i32.atomic.load', offset, 2, 2);
    return node('i32.atomic.load', ['i32'], 'i32', [addr], [...atomicOp(0x10), ...m.bytes], 'i32.atomic.load' + m.text, 'threads');
  },
  i32_store: (addr: Operand, value: Operand, offset = 0): Expr => {
    const m = memarg('i32.atomic.store', offset, 2, 2);
    return node('i32.atomic.store', ['i32', 'i32'], 'void', [addr, value], [...atomicOp(0x17), ...m.bytes], 'i32.atomic.store' + m.text, 'threads');
  },
  /** Returns the old value. */
  i32_rmw_add: (addr: Operand, value: Operand, offset = 0): Expr => {
    const m = memarg('i32.atomic.rmw.add', offset, 2, 2);
    return node('i32.atomic.rmw.add', ['i32', 'i32'], 'i32', [addr, value], [...atomicOp(0x1e), ...m.bytes], 'i32.atomic.rmw.add' + m.text, 'threads');
  },
  /** memory.atomic.notify addr count -> woken waiters. */
  notify: (addr: Operand, count: Operand, offset = 0): Expr => {
    const m = memarg('memory.atomic.notify', offset, 2, 2);
    return node('memory.atomic.notify', ['i32', 'i32'], 'i32', [addr, count], [...atomicOp(0x00), ...m.bytes], 'memory.atomic.notify' + m.text, 'threads');
  },
  /** memory.atomic.wait32 addr expected timeout_ns(i64, -1 = forever) -> 0 ok, 1 not-equal, 2 timed-out. */
  wait32: (addr: Operand, expected: Operand, timeoutNs: Operand, offset = 0): Expr => {
    const m = memarg('memory.atomic.wait32', offset, 2, 2);
    return node('memory.atomic.wait32', ['i32', 'i32', 'i64'], 'i32', [addr, expected, timeoutNs], [...atomicOp(0x01), ...m.bytes], 'memory.atomic.wait32' + m.text, 'threads');
  },
};
