/**
 * Kernel specs and catalog entries. A kernel's name is its spec (XNNPACK's grammar):
 *
 *   <op>_<types>[_<what>...]__<tile>..._<tile>__<isa>[_<variant>]
 *
 *   gemm_f32__mr4_nr8_kc256__simd128
 *   gemm_i8i8_i32__mr4_nr8_kc2__simd128_dot16
 *   gemm_i4f32_g32__mr4_nr8__simd128
 *
 * *What* is computed comes before the first double underscore (operation, operand types,
 * semantic parameters such as the quantization group size g); *how* after it (register tile
 * mr x nr, k-block kc, ...; then the instruction set and a variant tag). The same string is
 * the compile-cache key, the module's name section, the `qwm.spec` custom section's owner,
 * the vitest title and the tinybench label. See docs/kernels.md.
 */
import type { ModuleBuilder, MemoryImport } from './emit/index.js';

export type Isa = 'simd128' | 'relaxed';

export interface KernelSpec {
  /** Operation family, e.g. 'gemm', 'pack'. */
  readonly op: string;
  /** Operand types, e.g. 'f32', 'i8i8_i32', 'i4f32'. */
  readonly types: string;
  /** Semantic parameters (part of *what*), e.g. { g: 32 } for the quantization group. */
  readonly what?: Readonly<Record<string, number | string>>;
  /** Schedule parameters (part of *how*), in name order, e.g. { mr: 4, nr: 8, kc: 256 }. */
  readonly tile: Readonly<Record<string, number>>;
  readonly isa: Isa;
  /** Optional tag for the instruction choice, e.g. 'dot16'. */
  readonly variant?: string;
  /** Bytes the kernel may read past the end of an input buffer (<= heap OVERREAD_BYTES). */
  readonly overreadBytes: number;
}

export function kernelName(s: KernelSpec): string {
  const what = [s.op, s.types, ...Object.entries(s.what ?? {}).map(([k, v]) => `${k}${v}`)].join('_');
  const how = Object.entries(s.tile)
    .map(([k, v]) => `${k}${v}`)
    .join('_');
  const isa = s.variant ? `${s.isa}_${s.variant}` : s.isa;
  return `${what}__${how}__${isa}`;
}

/** What an emitter needs from its surroundings (the heap's memory import). */
export interface EmitContext {
  readonly memory: MemoryImport;
}

/** Output of a kernel or its twin in a catalog test. */
export type KernelOutput = Float32Array | Int32Array | Int8Array | Uint8Array;

/**
 * One catalog entry: the spec, the emitter, and the plain TypeScript twin, plus the small
 * harness `test/tensor/wasm/kernels.test.ts` and the benches drive (describe.each(KERNELS)).
 * `In` is the entry's own input record (shapes, operands, seeds).
 */
export interface KernelEntry<In = unknown> {
  readonly spec: KernelSpec;
  /** Build the module; pure: the same spec and context give the same bytes. */
  readonly emit: (spec: KernelSpec, ctx: EmitContext) => ModuleBuilder;
  /** The plain TypeScript twin (reference semantics, same summation order where stated). */
  readonly ref: (input: In) => KernelOutput;
  /** Run the emitted kernel through its public API with the current thread count. */
  readonly run: (input: In) => KernelOutput;
  /** Problem dims and the tile each is drawn around, e.g. { M: 4, N: 8, K: 256 }. */
  readonly dims: Readonly<Record<string, number>>;
  /** Build a concrete input for the given dims; deterministic in `seed`. */
  readonly make: (dims: Readonly<Record<string, number>>, seed: number) => In;
  /**
   * Allowed |run - ref| at output element i; 0 means bit-exact. `budget` names the bound
   * and its derivation (it is repeated in the test title).
   */
  readonly tolerance: (input: In, i: number) => number;
  readonly budget: string;
}
