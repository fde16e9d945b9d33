/**
 * ModuleBuilder and FuncBuilder: typed functions with named params and locals, structured
 * control flow with label objects, one imported memory, exports, a name section (function
 * and local names, so V8 stack traces and QWM_DEBUG=3 listings read like the source) and
 * custom sections (the kernel spec travels inside its module as `qwm.spec`).
 */
import { Bytes, uleb } from './encode.js';
import { EmitError, Local, VALTYPE_CODE, operand } from './types.js';
import type { Expr, Feature, Instr, Operand, ResultType, Sink, ValType } from './types.js';

/** A branch target; obtained from `f.block`/`f.loop` and valid only inside that body. */
export interface Label {
  readonly kind: 'block' | 'loop' | 'if';
  readonly depth: number;
  readonly name: string;
}

/** A function of this module, callable with `call(ref, ...args)`. */
export interface FuncRef {
  readonly index: number;
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export interface MemoryImport {
  module: string;
  name: string;
  /** Minimum size in 64 KiB pages. */
  initial: number;
  /** Maximum size in pages; required when shared. */
  maximum?: number;
  shared: boolean;
}

type Params = Record<string, ValType>;

export class FuncBuilder implements Sink {
  readonly code: Instr[] = [];
  readonly locals: Local[] = [];
  private depth = 0;
  private open: Label[] = [];
  private labelSeq = 0;

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
    private readonly module: ModuleBuilder,
  ) {}

  // -- Sink
  instr(text: string, bytes: readonly number[], nest: -1 | 0 | 1 | 2 = 0): void {
    this.code.push({ text, bytes, nest });
  }
  useFeature(f: Feature): void {
    this.module.features.add(f);
  }
  localName(index: number): string {
    return this.locals[index]?.name ?? `${index}`;
  }

  /** Declare a local (names must be unique within the function; XNNPACK-style `vacc0x0123`). */
  local(type: ValType, name: string): Local {
    if (this.locals.some((l) => l.name === name)) throw new EmitError(`${this.name}`, `duplicate local name ${name}`);
    const l = new Local(this.locals.length, name, type);
    this.locals.push(l);
    return l;
  }

  /** `local.set l (v)` */
  set(l: Local, v: Operand): void {
    operand(`local.set $${l.name}`, 0, v, l.type).emitTo(this);
    this.instr(`local.set $${l.name}`, [0x21, ...uleb(l.index)]);
  }

  /** `local.tee l (v)` as an expression. */
  tee(l: Local, v: Operand): Expr {
    const e = operand(`local.tee $${l.name}`, 0, v, l.type);
    return {
      type: l.type,
      emitTo: (s) => {
        e.emitTo(s);
        s.instr(`local.tee $${l.name}`, [0x22, ...uleb(l.index)]);
      },
    };
  }

  /** Emit a void expression (a store, a call without results). */
  exec(e: Expr): void {
    if (e.type !== 'void') throw new EmitError(this.name, `exec: expression leaves a ${e.type}; use drop() or set()`);
    e.emitTo(this);
  }

  /** Emit an expression and drop its value. */
  drop(e: Expr): void {
    if (e.type === 'void') throw new EmitError(this.name, 'drop: expression is void');
    e.emitTo(this);
    this.instr('drop', [0x1a]);
  }

  /** Leave a value on the stack (the function result, as the last statement). */
  push(e: Expr): void {
    e.emitTo(this);
  }

  private enter(kind: Label['kind'], opcode: number, body: (l: Label) => void, cond?: Expr): void {
    if (cond) cond.emitTo(this);
    const label: Label = { kind, depth: ++this.depth, name: `${kind}${this.labelSeq++}` };
    this.open.push(label);
    this.instr(`${kind} $${label.name}`, [opcode, 0x40], 1);
    body(label);
    this.open.pop();
    this.depth--;
    this.instr('end', [0x0b], -1);
  }

  /** `block ... end`; `br label` jumps to the end. */
  block(body: (l: Label) => void): void {
    this.enter('block', 0x02, body);
  }

  /** `loop ... end`; `br label` jumps back to the start. */
  loop(body: (l: Label) => void): void {
    this.enter('loop', 0x03, body);
  }

  /** `if (cond) then [else] end`. */
  if(cond: Operand, then: (l: Label) => void, otherwise?: (l: Label) => void): void {
    const c = operand('if', 0, cond, 'i32');
    this.enter('if', 0x04, (l) => {
      then(l);
      if (otherwise) {
        this.instr('else', [0x05], 2);
        otherwise(l);
      }
    }, c);
  }

  private rel(l: Label, op: string): number {
    if (!this.open.includes(l)) throw new EmitError(this.name, `${op}: label ${l.name} is not open here`);
    return this.depth - l.depth;
  }

  br(l: Label): void {
    this.instr(`br $${l.name}`, [0x0c, ...uleb(this.rel(l, 'br'))]);
  }

  brIf(l: Label, cond: Operand): void {
    operand('br_if', 0, cond, 'i32').emitTo(this);
    this.instr(`br_if $${l.name}`, [0x0d, ...uleb(this.rel(l, 'br_if'))]);
  }

  ret(v?: Operand): void {
    if (v !== undefined) {
      if (this.results.length !== 1) throw new EmitError(this.name, 'return with a value from a function without one result');
      operand('return', 0, v, this.results[0]).emitTo(this);
    }
    this.instr('return', [0x0f]);
  }

  unreachable(): void {
    this.instr('unreachable', [0x00]);
  }

  /**
   * Counted loop: `for (i = from; i < to; i += step) body()`, signed compare, skipped when
   * from >= to. `to` is re-evaluated every iteration (pass a local or constant).
   */
  for(i: Local, from: Operand, to: Operand, step: number, body: (brk: Label, cont: Label) => void): void {
    if (i.type !== 'i32') throw new EmitError(this.name, `for: index ${i.name} must be i32`);
    this.set(i, from);
    this.block((brk) => {
      this.brIf(brk, node2('i32.ge_s', [0x4e], i, to));
      this.loop((top) => {
        this.block((cont) => body(brk, cont));
        this.set(i, node2('i32.add', [0x6a], i, step));
        this.brIf(top, node2('i32.lt_s', [0x48], i, to));
      });
    });
  }

  /** The function body bytes (locals + code + end). */
  encodeBody(): Uint8Array {
    const b = new Bytes();
    const decl = this.locals.slice(this.params.length);
    const runs: [number, ValType][] = [];
    for (const l of decl) {
      const last = runs[runs.length - 1];
      if (last && last[1] === l.type) last[0]++;
      else runs.push([1, l.type]);
    }
    b.u32(runs.length);
    for (const [n, t] of runs) b.u32(n).byte(VALTYPE_CODE[t]);
    for (const ins of this.code) b.bytes(ins.bytes);
    b.byte(0x0b);
    return b.toUint8Array();
  }

  /** WAT-style listing of this function. */
  listing(): string {
    const sig = this.locals
      .slice(0, this.params.length)
      .map((l) => `(param $${l.name} ${l.type})`)
      .concat(this.results.map((t) => `(result ${t})`))
      .join(' ');
    const lines = [`(func $${this.name} ${sig}`];
    for (const l of this.locals.slice(this.params.length)) lines.push(`  (local $${l.name} ${l.type})`);
    let ind = 1;
    for (const ins of this.code) {
      if (ins.nest === -1) ind--;
      lines.push('  '.repeat(ind + (ins.nest === 2 ? -1 : 0)) + ins.text);
      if (ins.nest === 1) ind++;
    }
    lines.push(')');
    return lines.join('\n');
  }
}

function node2(op: string, code: number[], a: Operand, b: Operand): Expr {
  const ea = operand(op, 0, a, 'i32');
  const eb = operand(op, 1, b, 'i32');
  return {
    type: 'i32',
    emitTo(s) {
      ea.emitTo(s);
      eb.emitTo(s);
      s.instr(op, code);
    },
  };
}

/** `call ref args...` */
export function call(ref: FuncRef, ...args: Operand[]): Expr {
  if (args.length !== ref.params.length) throw new EmitError(`call $${ref.name}`, `expected ${ref.params.length} args, got ${args.length}`);
  const es = args.map((a, i) => operand(`call $${ref.name}`, i, a, ref.params[i]));
  const type: ResultType = ref.results.length === 0 ? 'void' : ref.results[0];
  return {
    type,
    emitTo(s) {
      for (const e of es) e.emitTo(s);
      s.instr(`call $${ref.name}`, [0x10, ...uleb(ref.index)]);
    },
  };
}

export class ModuleBuilder {
  readonly features = new Set<Feature>();
  private readonly funcs: FuncBuilder[] = [];
  private readonly exportsList: { name: string; index: number }[] = [];
  private readonly customs: { name: string; bytes: Uint8Array }[] = [];
  private mem: MemoryImport | null = null;

  constructor(readonly name: string) {}

  /** Import the (single) linear memory; kernels address everything through it. */
  importMemory(m: MemoryImport): void {
    if (m.shared && m.maximum === undefined) throw new EmitError(this.name, 'a shared memory import needs a maximum');
    if (m.shared) this.features.add('threads');
    this.mem = m;
  }

  get memoryImport(): MemoryImport | null {
    return this.mem;
  }

  /**
   * Define a function. `params` is an ordered record name -> type; the body gets the builder
   * and the params as locals. `results` is [] or [type]. `exportAs` exports it under that name.
   */
  func<P extends Params>(
    name: string,
    params: P,
    results: readonly ValType[],
    body: (f: FuncBuilder, p: { [K in keyof P]: Local }) => void,
    exportAs?: string,
  ): FuncRef {
    if (results.length > 1) throw new EmitError(name, 'multi-value results are not supported');
    const types = Object.values(params);
    const f = new FuncBuilder(name, types, results, this);
    const p = {} as { [K in keyof P]: Local };
    for (const k of Object.keys(params) as (keyof P & string)[]) p[k] = f.local(params[k], k);
    const ref: FuncRef = { index: this.funcs.length, name, params: types, results };
    this.funcs.push(f);
    body(f, p);
    if (exportAs !== undefined) {
      if (this.exportsList.some((e) => e.name === exportAs)) throw new EmitError(this.name, `duplicate export ${exportAs}`);
      this.exportsList.push({ name: exportAs, index: ref.index });
    }
    return ref;
  }

  /** A custom section (e.g. `qwm.spec` with the kernel spec as JSON). */
  custom(name: string, bytes: Uint8Array): void {
    this.customs.push({ name, bytes });
  }

  /** The module bytes: type, import, function, export, code, then custom and name sections. */
  toBytes(): Uint8Array<ArrayBuffer> {
    const out = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, payload: Bytes) => out.byte(id).blob(payload);

    // types (deduplicated signatures)
    const sigKey = (f: FuncBuilder) => `${f.params.join(',')}->${f.results.join(',')}`;
    const sigs: FuncBuilder[] = [];
    const sigIndex = new Map<string, number>();
    for (const f of this.funcs) {
      const k = sigKey(f);
      if (!sigIndex.has(k)) {
        sigIndex.set(k, sigs.length);
        sigs.push(f);
      }
    }
    const types = new Bytes().u32(sigs.length);
    for (const f of sigs) {
      types.byte(0x60).u32(f.params.length);
      for (const t of f.params) types.byte(VALTYPE_CODE[t]);
      types.u32(f.results.length);
      for (const t of f.results) types.byte(VALTYPE_CODE[t]);
    }
    section(1, types);

    if (this.mem) {
      const m = this.mem;
      const imp = new Bytes().u32(1).name(m.module).name(m.name).byte(0x02);
      if (m.shared) imp.byte(0x03).u32(m.initial).u32(m.maximum as number);
      else if (m.maximum !== undefined) imp.byte(0x01).u32(m.initial).u32(m.maximum);
      else imp.byte(0x00).u32(m.initial);
      section(2, imp);
    }

    const fsec = new Bytes().u32(this.funcs.length);
    for (const f of this.funcs) fsec.u32(sigIndex.get(sigKey(f)) as number);
    section(3, fsec);

    const ex = new Bytes().u32(this.exportsList.length);
    for (const e of this.exportsList) ex.name(e.name).byte(0x00).u32(e.index);
    section(7, ex);

    const code = new Bytes().u32(this.funcs.length);
    for (const f of this.funcs) code.blob(f.encodeBody());
    section(10, code);

    for (const c of this.customs) section(0, new Bytes().name(c.name).bytes(c.bytes));

    // name section: module name (0), function names (1), local names (2)
    const names = new Bytes().name('name');
    names.byte(0).blob(new Bytes().name(this.name));
    const fn = new Bytes().u32(this.funcs.length);
    this.funcs.forEach((f, i) => fn.u32(i).name(f.name));
    names.byte(1).blob(fn);
    const ln = new Bytes().u32(this.funcs.length);
    this.funcs.forEach((f, i) => {
      ln.u32(i).u32(f.locals.length);
      f.locals.forEach((l) => ln.u32(l.index).name(l.name));
    });
    names.byte(2).blob(ln);
    section(0, names);
    return out.toUint8Array();
  }

  /** WAT-style listing of the whole module (QWM_DEBUG=3). */
  listing(): string {
    const lines = [`(module $${this.name}`];
    if (this.mem) {
      const m = this.mem;
      lines.push(`  (import "${m.module}" "${m.name}" (memory ${m.initial}${m.maximum !== undefined ? ' ' + m.maximum : ''}${m.shared ? ' shared' : ''}))`);
    }
    for (const e of this.exportsList) lines.push(`  (export "${e.name}" (func $${this.funcs[e.index].name}))`);
    for (const f of this.funcs) lines.push(f.listing().replace(/^/gm, '  '));
    lines.push(')');
    return lines.join('\n');
  }
}
