/**
 * Core types of the emitter: value types, expressions, locals and the instruction sink.
 *
 * An `Expr` is a small tree (operands + one instruction) that knows its result type; it is
 * emitted when a statement (`f.set`, `f.exec`, `f.drop`, `f.push`, `f.brIf`, ...) consumes it,
 * operands first, so the emitted stack code is always in operand order. Type errors are
 * reported while building, with the op name, before WebAssembly.validate ever sees the bytes.
 */
import { QuantwmError } from '../../errors.js';
import { f32le, f64le, sleb32, sleb64, uleb } from './encode.js';

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
/** Result type of an expression: a value type, or 'void' for stores and calls without results. */
export type ResultType = ValType | 'void';
/** Features a module may use; `simd128` and `threads` (shared memory) are plain Node 20 features. */
export type Feature = 'simd128' | 'relaxed-simd' | 'threads';

export const VALTYPE_CODE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Emitter misuse: wrong operand type, unknown label, bad immediate. `where` names the op. */
export class EmitError extends QuantwmError {
  constructor(where: string, message: string) {
    super('E_EMIT', where, message);
  }
}

/** One encoded instruction with its WAT-style text (for QWM_DEBUG=3 listings). */
export interface Instr {
  readonly text: string;
  readonly bytes: readonly number[];
  /** +1 opens a block (block/loop/if), -1 closes one (end), 0 otherwise; 'else' is 0 with dedent. */
  readonly nest: -1 | 0 | 1 | 2;
}

export interface Sink {
  instr(text: string, bytes: readonly number[], nest?: -1 | 0 | 1 | 2): void;
  useFeature(f: Feature): void;
  localName(index: number): string;
}

export interface Expr {
  readonly type: ResultType;
  emitTo(s: Sink): void;
}

/** An operand: an expression, or a JS number taken as a constant of the expected type. */
export type Operand = Expr | number;

/** A local variable or parameter; used as an operand it emits `local.get`. */
export class Local implements Expr {
  constructor(
    readonly index: number,
    readonly name: string,
    readonly type: ValType,
  ) {}

  emitTo(s: Sink): void {
    s.instr(`local.get $${this.name}`, [0x20, ...uleb(this.index)]);
  }
}

/** A constant expression of a scalar type. */
export function constOf(type: ValType, v: number | bigint): Expr {
  switch (type) {
    case 'i32':
      return leaf('i32', `i32.const ${Number(v) | 0}`, [0x41, ...sleb32(Number(v))]);
    case 'i64':
      return leaf('i64', `i64.const ${BigInt(v)}`, [0x42, ...sleb64(BigInt(v))]);
    case 'f32':
      return leaf('f32', `f32.const ${Math.fround(Number(v))}`, [0x43, ...f32le(Number(v))]);
    case 'f64':
      return leaf('f64', `f64.const ${Number(v)}`, [0x44, ...f64le(Number(v))]);
    default:
      throw new EmitError('const', `no scalar constant of type ${type}; use v128.const_* helpers`);
  }
}

/** An expression with no operands. */
export function leaf(type: ResultType, text: string, bytes: readonly number[], feature?: Feature): Expr {
  return {
    type,
    emitTo(s) {
      if (feature) s.useFeature(feature);
      s.instr(text, bytes);
    },
  };
}

/** Coerce an operand to an expression of type `want`, or throw naming `op` and the position. */
export function operand(op: string, pos: number, o: Operand, want: ValType): Expr {
  if (typeof o === 'number') {
    if (!Number.isFinite(o) && (want === 'i32' || want === 'i64')) {
      throw new EmitError(op, `operand ${pos}: ${o} is not an integer constant`);
    }
    if ((want === 'i32' || want === 'i64') && !Number.isInteger(o)) {
      throw new EmitError(op, `operand ${pos}: ${o} is not an integer constant`);
    }
    return constOf(want, want === 'i64' ? BigInt(o) : o);
  }
  if (o.type !== want) throw new EmitError(op, `operand ${pos}: expected ${want}, got ${o.type}`);
  return o;
}

/** Generic instruction node: operands (typed), then the instruction bytes. */
export function node(
  op: string,
  ins: readonly ValType[],
  out: ResultType,
  args: readonly Operand[],
  bytes: readonly number[],
  text: string = op,
  feature?: Feature,
): Expr {
  if (args.length !== ins.length) throw new EmitError(op, `expected ${ins.length} operands, got ${args.length}`);
  const exprs = args.map((a, i) => operand(op, i, a, ins[i]));
  return {
    type: out,
    emitTo(s) {
      for (const e of exprs) e.emitTo(s);
      if (feature) s.useFeature(feature);
      s.instr(text, bytes);
    },
  };
}
