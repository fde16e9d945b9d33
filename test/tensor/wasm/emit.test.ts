/**
 * The emitter: LEB128 encodings, instruction semantics of the SIMD ops the kernels rely on
 * (each checked lane by lane against a JavaScript definition on generated inputs), build-time
 * type and label errors, name/custom sections, listings, and the relaxed-SIMD gate.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EmitError, ModuleBuilder, f32, f32x4, i16x8, i32, i32x4, i8x16, sleb32, uleb, v128, atomic, call, select,
} from '../../../src/tensor/wasm/emit/index.js';
import type { Expr } from '../../../src/tensor/wasm/emit/index.js';
import { compileKernel, KernelError, emitKernelBytes } from '../../../src/tensor/wasm/compile.js';
import { forceRelaxedSimd, hasRelaxedSimd, hasSimd128 } from '../../../src/tensor/wasm/probe.js';
import type { KernelSpec } from '../../../src/tensor/wasm/spec.js';

function readUleb(b: number[]): number {
  let v = 0;
  let mul = 1;
  for (const x of b) {
    v += (x & 0x7f) * mul;
    mul *= 128;
  }
  return v;
}
function readSleb(b: number[]): number {
  let v = 0n;
  let shift = 0n;
  for (const x of b) {
    v |= BigInt(x & 0x7f) << shift;
    shift += 7n;
  }
  if (b[b.length - 1] & 0x40) v -= 1n << shift;
  return Number(v);
}

describe('LEB128', () => {
  it('pins the encodings the reference notes list (0xba -> ba 01, 0x113 -> 93 02, -1 -> 7f, 64 -> c0 00)', () => {
    expect(uleb(0xba)).toEqual([0xba, 0x01]);
    expect(uleb(0x113)).toEqual([0x93, 0x02]);
    expect(uleb(0)).toEqual([0]);
    expect(sleb32(-1)).toEqual([0x7f]);
    expect(sleb32(64)).toEqual([0xc0, 0x00]);
    expect(sleb32(-64)).toEqual([0x40]);
  });
  it('round-trips every u32 and i32 with the minimal length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), (u, s) => {
        const eu = uleb(u);
        const es = sleb32(s);
        return readUleb(eu) === u && readSleb(es) === s && eu.length === Math.max(1, Math.ceil(Math.log2(u + 1) / 7)) && es.length <= 5;
      }),
    );
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(() => uleb(2 ** 32)).toThrow(RangeError);
  });
});

// ---- SIMD semantics: out = op(load 0, load 16[, load 32]) stored at 64

const mem = new WebAssembly.Memory({ initial: 1 });
const u8 = new Uint8Array(mem.buffer);

function simdRunner(name: string, arity: number, op: (...a: Expr[]) => Expr): (ins: Uint8Array[]) => Uint8Array {
  const m = new ModuleBuilder(name);
  m.importMemory({ module: 'env', name: 'memory', initial: 1, shared: false });
  m.func('t', {}, [], (f) => f.exec(v128.store(64, op(...[0, 16, 32].slice(0, arity).map((o) => v128.load(0, o))))), 't');
  const bytes = m.toBytes();
  expect(WebAssembly.validate(bytes), name).toBe(true);
  const t = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: mem } }).exports.t as () => void;
  return (ins) => {
    ins.forEach((b, i) => u8.set(b, i * 16));
    t();
    return u8.slice(64, 80);
  };
}

type TA = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Float32Array;
type Ctor = new (b: ArrayBuffer) => TA;
const view = (b: Uint8Array, C: Ctor) => new C(b.slice().buffer);
const sat = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

interface Case {
  name: string;
  arity: number;
  op: (...a: Expr[]) => Expr;
  inT: Ctor;
  outT: Ctor;
  /** Expected output lanes from the input lane arrays. */
  ref: (a: number[], b: number[], c: number[]) => number[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const i32w = (x: number) => x | 0;
const i16w = (x: number) => ((x << 16) >> 16);
const i8w = (x: number) => ((x << 24) >> 24);
const fr = Math.fround;

const CASES: Case[] = [
  { name: 'i32x4.dot_i16x8_s', arity: 2, op: i32x4.dot_i16x8_s, inT: Int16Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => i32w(a[2 * i] * b[2 * i] + a[2 * i + 1] * b[2 * i + 1])) },
  { name: 'i16x8.extend_low_i8x16_s', arity: 1, op: i16x8.extend_low_i8x16_s, inT: Int8Array, outT: Int16Array, ref: (a) => a.slice(0, 8) },
  { name: 'i16x8.extend_high_i8x16_s', arity: 1, op: i16x8.extend_high_i8x16_s, inT: Int8Array, outT: Int16Array, ref: (a) => a.slice(8) },
  { name: 'i16x8.extend_low_i8x16_u', arity: 1, op: i16x8.extend_low_i8x16_u, inT: Uint8Array, outT: Int16Array, ref: (a) => a.slice(0, 8) },
  { name: 'i16x8.extend_high_i8x16_u', arity: 1, op: i16x8.extend_high_i8x16_u, inT: Uint8Array, outT: Int16Array, ref: (a) => a.slice(8) },
  { name: 'i16x8.extmul_low_i8x16_s', arity: 2, op: i16x8.extmul_low_i8x16_s, inT: Int8Array, outT: Int16Array, ref: (a, b) => range(8).map((i) => i16w(a[i] * b[i])) },
  { name: 'i16x8.extmul_high_i8x16_s', arity: 2, op: i16x8.extmul_high_i8x16_s, inT: Int8Array, outT: Int16Array, ref: (a, b) => range(8).map((i) => i16w(a[i + 8] * b[i + 8])) },
  { name: 'i16x8.extmul_low_i8x16_u', arity: 2, op: i16x8.extmul_low_i8x16_u, inT: Uint8Array, outT: Uint16Array, ref: (a, b) => range(8).map((i) => a[i] * b[i]) },
  { name: 'i32x4.extmul_low_i16x8_s', arity: 2, op: i32x4.extmul_low_i16x8_s, inT: Int16Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => a[i] * b[i]) },
  { name: 'i32x4.extmul_high_i16x8_s', arity: 2, op: i32x4.extmul_high_i16x8_s, inT: Int16Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => a[i + 4] * b[i + 4]) },
  { name: 'i32x4.extadd_pairwise_i16x8_s', arity: 1, op: i32x4.extadd_pairwise_i16x8_s, inT: Int16Array, outT: Int32Array, ref: (a) => range(4).map((i) => a[2 * i] + a[2 * i + 1]) },
  { name: 'i16x8.extadd_pairwise_i8x16_s', arity: 1, op: i16x8.extadd_pairwise_i8x16_s, inT: Int8Array, outT: Int16Array, ref: (a) => range(8).map((i) => a[2 * i] + a[2 * i + 1]) },
  { name: 'i16x8.extadd_pairwise_i8x16_u', arity: 1, op: i16x8.extadd_pairwise_i8x16_u, inT: Uint8Array, outT: Int16Array, ref: (a) => range(8).map((i) => a[2 * i] + a[2 * i + 1]) },
  { name: 'i32x4.add', arity: 2, op: i32x4.add, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => i32w(a[i] + b[i])) },
  { name: 'i32x4.sub', arity: 2, op: i32x4.sub, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => i32w(a[i] - b[i])) },
  { name: 'i32x4.mul', arity: 2, op: i32x4.mul, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => Math.imul(a[i], b[i])) },
  { name: 'i32x4.min_s', arity: 2, op: i32x4.min_s, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => Math.min(a[i], b[i])) },
  { name: 'i32x4.max_s', arity: 2, op: i32x4.max_s, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => Math.max(a[i], b[i])) },
  { name: 'i16x8.add', arity: 2, op: i16x8.add, inT: Int16Array, outT: Int16Array, ref: (a, b) => range(8).map((i) => i16w(a[i] + b[i])) },
  { name: 'i16x8.sub', arity: 2, op: i16x8.sub, inT: Int16Array, outT: Int16Array, ref: (a, b) => range(8).map((i) => i16w(a[i] - b[i])) },
  { name: 'i16x8.mul', arity: 2, op: i16x8.mul, inT: Int16Array, outT: Int16Array, ref: (a, b) => range(8).map((i) => i16w(a[i] * b[i])) },
  { name: 'i8x16.add', arity: 2, op: i8x16.add, inT: Int8Array, outT: Int8Array, ref: (a, b) => range(16).map((i) => i8w(a[i] + b[i])) },
  { name: 'i8x16.sub', arity: 2, op: i8x16.sub, inT: Int8Array, outT: Int8Array, ref: (a, b) => range(16).map((i) => i8w(a[i] - b[i])) },
  { name: 'i16x8.narrow_i32x4_s', arity: 2, op: i16x8.narrow_i32x4_s, inT: Int32Array, outT: Int16Array, ref: (a, b) => [...a, ...b].map((x) => sat(x, -32768, 32767)) },
  { name: 'i8x16.narrow_i16x8_s', arity: 2, op: i8x16.narrow_i16x8_s, inT: Int16Array, outT: Int8Array, ref: (a, b) => [...a, ...b].map((x) => sat(x, -128, 127)) },
  { name: 'i8x16.narrow_i16x8_u', arity: 2, op: i8x16.narrow_i16x8_u, inT: Int16Array, outT: Uint8Array, ref: (a, b) => [...a, ...b].map((x) => sat(x, 0, 255)) },
  { name: 'v128.and', arity: 2, op: v128.and, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => a[i] & b[i]) },
  { name: 'v128.andnot', arity: 2, op: v128.andnot, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => a[i] & ~b[i]) },
  { name: 'v128.or', arity: 2, op: v128.or, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => a[i] | b[i]) },
  { name: 'v128.xor', arity: 2, op: v128.xor, inT: Int32Array, outT: Int32Array, ref: (a, b) => range(4).map((i) => a[i] ^ b[i]) },
  { name: 'v128.bitselect', arity: 3, op: v128.bitselect, inT: Int32Array, outT: Int32Array, ref: (a, b, c) => range(4).map((i) => (a[i] & c[i]) | (b[i] & ~c[i])) },
  { name: 'i8x16.shr_u 4', arity: 1, op: (a) => i8x16.shr_u(a, 4), inT: Uint8Array, outT: Uint8Array, ref: (a) => a.map((x) => x >> 4) },
  { name: 'i8x16.shl 4', arity: 1, op: (a) => i8x16.shl(a, 4), inT: Uint8Array, outT: Uint8Array, ref: (a) => a.map((x) => (x << 4) & 0xff) },
  { name: 'i32x4.shr_s 3', arity: 1, op: (a) => i32x4.shr_s(a, 3), inT: Int32Array, outT: Int32Array, ref: (a) => a.map((x) => x >> 3) },
  { name: 'f32x4.add', arity: 2, op: f32x4.add, inT: Float32Array, outT: Float32Array, ref: (a, b) => range(4).map((i) => fr(a[i] + b[i])) },
  { name: 'f32x4.sub', arity: 2, op: f32x4.sub, inT: Float32Array, outT: Float32Array, ref: (a, b) => range(4).map((i) => fr(a[i] - b[i])) },
  { name: 'f32x4.mul', arity: 2, op: f32x4.mul, inT: Float32Array, outT: Float32Array, ref: (a, b) => range(4).map((i) => fr(a[i] * b[i])) },
  { name: 'f32x4.div', arity: 2, op: f32x4.div, inT: Float32Array, outT: Float32Array, ref: (a, b) => range(4).map((i) => fr(a[i] / b[i])) },
  { name: 'f32x4.min', arity: 2, op: f32x4.min, inT: Float32Array, outT: Float32Array, ref: (a, b) => range(4).map((i) => Math.min(a[i], b[i])) },
  { name: 'f32x4.max', arity: 2, op: f32x4.max, inT: Float32Array, outT: Float32Array, ref: (a, b) => range(4).map((i) => Math.max(a[i], b[i])) },
  { name: 'f32x4.convert_i32x4_s', arity: 1, op: f32x4.convert_i32x4_s, inT: Int32Array, outT: Float32Array, ref: (a) => a.map(fr) },
  { name: 'i32x4.trunc_sat_f32x4_s', arity: 1, op: i32x4.trunc_sat_f32x4_s, inT: Float32Array, outT: Int32Array, ref: (a) => a.map((x) => (Number.isNaN(x) ? 0 : sat(Math.trunc(x), -(2 ** 31), 2 ** 31 - 1))) },
  { name: 'i8x16.shuffle (interleave lows)', arity: 2, op: (a, b) => i8x16.shuffle(a, b, [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23]), inT: Uint8Array, outT: Uint8Array, ref: (a, b) => range(16).map((i) => (i % 2 ? b : a)[i >> 1]) },
  { name: 'f32x4.splat(extract_lane 2)', arity: 1, op: (a) => f32x4.splat(f32x4.extract_lane(a, 2)), inT: Float32Array, outT: Float32Array, ref: (a) => [a[2], a[2], a[2], a[2]] },
  { name: 'i32x4.replace_lane 1', arity: 1, op: (a) => i32x4.replace_lane(a, 1, 77), inT: Int32Array, outT: Int32Array, ref: (a) => [a[0], 77, a[2], a[3]] },
];

function sameLane(x: number, y: number): boolean {
  return Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
}

describe('SIMD instruction semantics (lane-wise JS definition)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const run = simdRunner(c.name, c.arity, c.op);
    const lanes = fc.uint8Array({ minLength: 16, maxLength: 16 });
    // extremes make saturation and wrap-around paths fire
    const edge = fc.constantFrom(new Uint8Array(16).fill(0x80), new Uint8Array(16).fill(0x7f), new Uint8Array(16).fill(0xff), new Uint8Array(16));
    let runs = 0;
    fc.assert(
      fc.property(fc.oneof(lanes, edge), fc.oneof(lanes, edge), lanes, (a, b, cc) => {
        runs++;
        const got = Array.from(view(run([a, b, cc]), c.outT));
        const want = c.ref(Array.from(view(a, c.inT)), Array.from(view(b, c.inT)), Array.from(view(cc, c.inT)));
        // the definition's lanes, wrapped to the output lane type
        const wantT = Array.from(new (c.outT as unknown as new (a: number[]) => TA)(want));
        return got.length === wantT.length && got.every((g, i) => sameLane(g, wantT[i]));
      }),
      { numRuns: 60 },
    );
    expect(runs).toBe(60);
  });

  it('v128.load32_splat / load8x8_s / load64_zero / store32_lane read and write the bytes they name', () => {
    const m = new ModuleBuilder('loads');
    m.importMemory({ module: 'env', name: 'memory', initial: 1, shared: false });
    m.func('t', {}, [], (f) => {
      f.exec(v128.store(64, v128.load32_splat(0, 4)));
      f.exec(v128.store(80, v128.load8x8_s(0, 8)));
      f.exec(v128.store(96, v128.load64_zero(0)));
      f.exec(v128.store32_lane(112, v128.load(0), 3));
    }, 't');
    const inst = new WebAssembly.Instance(new WebAssembly.Module(m.toBytes()), { env: { memory: mem } });
    const src = Uint8Array.from(range(16).map((i) => (i * 37 + 200) & 0xff));
    u8.set(src, 0);
    u8.fill(0xaa, 64, 128);
    (inst.exports.t as () => void)();
    const w = new Uint32Array(src.buffer);
    expect(Array.from(new Uint32Array(u8.slice(64, 80).buffer))).toEqual([w[1], w[1], w[1], w[1]]);
    expect(Array.from(new Int16Array(u8.slice(80, 96).buffer))).toEqual(Array.from(new Int8Array(src.buffer, 8, 8)));
    expect(Array.from(u8.slice(96, 112))).toEqual([...src.slice(0, 8), 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(u8.slice(112, 128))).toEqual([...src.slice(12, 16), ...new Array(12).fill(0xaa)]);
  });
});

describe('builder checks', () => {
  const build = (body: (m: ModuleBuilder) => void) => () => {
    const m = new ModuleBuilder('bad');
    m.importMemory({ module: 'env', name: 'memory', initial: 1, shared: false });
    body(m);
    return m.toBytes();
  };

  it('operand type mismatches name the op and the operand position', () => {
    expect(build((m) => m.func('f', { x: 'f32' }, [], (f, p) => f.drop(i32.add(p.x, 1))))).toThrow(/i32\.add: operand 0: expected i32, got f32/);
    expect(build((m) => m.func('f', { x: 'i32' }, [], (f, p) => f.drop(f32x4.add(p.x, p.x))))).toThrow(EmitError);
    expect(build((m) => m.func('f', {}, [], (f) => f.drop(i32.add(1.5, 1))))).toThrow(/not an integer/);
  });

  it('labels must be open, lanes in range, alignment natural or less, names unique', () => {
    expect(build((m) => m.func('f', {}, [], (f) => {
      let saved: Parameters<Parameters<typeof f.block>[0]>[0] | null = null;
      f.block((l) => (saved = l));
      f.br(saved!);
    }))).toThrow(/not open/);
    expect(build((m) => m.func('f', {}, [], (f) => f.drop(i32x4.extract_lane(v128.zero(), 4))))).toThrow(/lane 4/);
    expect(build((m) => m.func('f', {}, [], (f) => f.drop(v128.load(0, 0, 5))))).toThrow(/natural alignment/);
    expect(build((m) => m.func('f', { a: 'i32' }, [], (f) => f.local('i32', 'a')))).toThrow(/duplicate local/);
    expect(build((m) => {
      m.func('f', {}, [], () => undefined, 'x');
      m.func('g', {}, [], () => undefined, 'x');
    })).toThrow(/duplicate export/);
    expect(() => new ModuleBuilder('m').importMemory({ module: 'env', name: 'memory', initial: 1, shared: true })).toThrow(/maximum/);
  });

  it('control flow, calls, select and atomics validate and compute (for-loop sum, call, br_if)', () => {
    const m = new ModuleBuilder('ctl');
    m.importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 16, shared: true });
    const sq = m.func('sq', { x: 'i32' }, ['i32'], (f, p) => f.push(i32.mul(p.x, p.x)));
    m.func('sum_sq', { n: 'i32' }, ['i32'], (f, p) => {
      const i = f.local('i32', 'i');
      const s = f.local('i32', 's');
      f.for(i, 0, p.n, 1, (_brk, cont) => {
        f.brIf(cont, i32.eq(i, 3)); // skip i = 3
        f.set(s, i32.add(s, call(sq, i)));
      });
      f.drop(atomic.i32_rmw_add(0, s));
      f.push(atomic.i32_load(0));
    }, 'sum_sq');
    const bytes = m.toBytes();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true } as WebAssembly.MemoryDescriptor);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const f = inst.exports.sum_sq as (n: number) => number;
    expect(f(5)).toBe(0 + 1 + 4 + 16); // 0..4 without 3
    expect(f(0)).toBe(21); // accumulates in memory
    expect(m.listing()).toContain('call $sq');
    expect(m.listing()).toContain('i32.atomic.rmw.add');
  });

  it('writes the name section (module, function and local names) and custom sections', () => {
    const m = new ModuleBuilder('named_module');
    m.func('the_func', { alpha: 'i32' }, ['i32'], (f, p) => f.push(select(p.alpha, 7, p.alpha)), 'e');
    m.custom('qwm.test', new TextEncoder().encode('hello'));
    const mod = new WebAssembly.Module(m.toBytes());
    expect(WebAssembly.Module.customSections(mod, 'name').length).toBe(1);
    const text = new TextDecoder().decode(WebAssembly.Module.customSections(mod, 'name')[0]);
    expect(text).toContain('named_module');
    expect(text).toContain('the_func');
    expect(text).toContain('alpha');
    expect(new TextDecoder().decode(WebAssembly.Module.customSections(mod, 'qwm.test')[0])).toBe('hello');
  });
});

describe('features and compile', () => {
  const relaxedSpec: KernelSpec = { op: 'probe', types: 'i8', tile: { t: 1 }, isa: 'relaxed', overreadBytes: 0 };
  const relaxedEmit = (_s: KernelSpec, ctx: { memory: Parameters<ModuleBuilder['importMemory']>[0] }) => {
    const m = new ModuleBuilder('relaxed');
    m.importMemory(ctx.memory);
    m.func('t', {}, [], (f) => f.exec(v128.store(0, i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.zero(), v128.zero(), v128.zero()))), 't');
    return m;
  };

  it('SIMD128 is present on this runtime; relaxed SIMD is detected only with a passing self-test', () => {
    expect(hasSimd128()).toBe(true);
    expect(typeof hasRelaxedSimd()).toBe('boolean');
  });

  it('a relaxed kernel is refused (KernelError) when relaxed SIMD is absent, and marks its feature', () => {
    forceRelaxedSimd(false);
    try {
      expect(() => compileKernel(relaxedSpec, relaxedEmit)).toThrow(KernelError);
    } finally {
      forceRelaxedSimd(null);
    }
    const { builder, bytes } = emitKernelBytes(relaxedSpec, relaxedEmit, { memory: { module: 'env', name: 'memory', initial: 1, maximum: 65536, shared: true } });
    expect(builder.features.has('relaxed-simd')).toBe(true);
    const mod = (() => {
      try {
        return new WebAssembly.Module(bytes);
      } catch {
        return null;
      }
    })();
    const spec = mod && WebAssembly.Module.customSections(mod, 'qwm.spec');
    if (spec) expect(new TextDecoder().decode(spec[0])).toContain('probe_i8__t1__relaxed');
  });

  it('overreadBytes beyond the heap padding is refused', () => {
    expect(() => emitKernelBytes({ ...relaxedSpec, isa: 'simd128', overreadBytes: 17 }, relaxedEmit)).toThrow(/overreadBytes/);
  });
});

// keep f32 scalar ops exercised by at least one validated module
it('scalar f32 ops validate (f32.nearest is round-half-even)', () => {
  const m = new ModuleBuilder('scalar');
  m.func('r', { x: 'f32' }, ['f32'], (f, p) => f.push(f32.nearest(p.x)), 'r');
  const r = new WebAssembly.Instance(new WebAssembly.Module(m.toBytes()), {}).exports.r as (x: number) => number;
  expect([0.5, 1.5, 2.5, -0.5, -2.5].map(r)).toEqual([0, 2, 2, -0, -2]);
});
