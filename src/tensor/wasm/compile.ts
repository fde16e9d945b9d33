/**
 * Compile a kernel from its spec: emit, attach the spec as the `qwm.spec` custom section,
 * WebAssembly.validate, compile synchronously (kernels are a few KB, far below any
 * main-thread sync-compile limit), instantiate against the heap memory, cache by name.
 *
 * QWM_DEBUG=2 logs name, spec and size on first compile; QWM_DEBUG=3 adds the WAT listing.
 */
import { QuantwmError } from '../errors.js';
import { debugLevel } from './env.js';
import { heap } from './heap.js';
import { hasRelaxedSimd } from './probe.js';
import { kernelName } from './spec.js';
import type { EmitContext, KernelSpec } from './spec.js';
import type { ModuleBuilder } from './emit/index.js';

/** A compiled, instantiated kernel. `id` indexes it for worker threads (../threads). */
export interface Kernel {
  readonly id: number;
  readonly name: string;
  readonly spec: KernelSpec;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly module: WebAssembly.Module;
  readonly exports: WebAssembly.Exports;
  /** Export names in module order (threads call exports by index). */
  readonly exportNames: readonly string[];
}

/** Kernel bytes that do not validate, or a relaxed module without relaxed support. */
export class KernelError extends QuantwmError {
  constructor(where: string, message: string) {
    super('E_KERNEL', where, message);
  }
}

type Emit = (spec: KernelSpec, ctx: EmitContext) => ModuleBuilder;

const cache = new Map<string, Kernel>();
const byId: Kernel[] = [];
/** the same cache keyed by spec object: ops call compileKernel per call, and building the name costs ~1 us */
const bySpec = new WeakMap<KernelSpec, Kernel>();

/** Build the module bytes for a spec (no compile); the spec rides along as `qwm.spec`. */
export function emitKernelBytes(spec: KernelSpec, emit: Emit, ctx: EmitContext = { memory: heap().memoryImport() }): { bytes: Uint8Array<ArrayBuffer>; builder: ModuleBuilder } {
  const name = kernelName(spec);
  if (spec.overreadBytes > 16) throw new KernelError(name, `overreadBytes ${spec.overreadBytes} exceeds the heap's 16-byte padding`);
  const builder = emit(spec, ctx);
  builder.custom('qwm.spec', new TextEncoder().encode(JSON.stringify({ name, ...spec })));
  return { bytes: builder.toBytes(), builder };
}

/** The compiled kernel for `spec`, built by `emit` on first use. */
export function compileKernel(spec: KernelSpec, emit: Emit): Kernel {
  const known = bySpec.get(spec);
  if (known) return known;
  const name = kernelName(spec);
  const hit = cache.get(name);
  if (hit) {
    bySpec.set(spec, hit);
    return hit;
  }
  const { bytes, builder } = emitKernelBytes(spec, emit);
  if (builder.features.has('relaxed-simd') && !hasRelaxedSimd()) {
    throw new KernelError(name, 'uses relaxed SIMD, which is absent or failed its self-test here (probe.ts)');
  }
  const dbg = debugLevel();
  if (dbg >= 2) console.error(`[qwm] kernel ${name} ${bytes.length} B ${JSON.stringify(spec)}`);
  if (dbg >= 3) console.error(builder.listing());
  if (!WebAssembly.validate(bytes)) {
    let why = 'invalid module';
    try {
      new WebAssembly.Module(bytes);
    } catch (e) {
      why = (e as Error).message;
    }
    throw new KernelError(name, `emitted bytes do not validate: ${why}`);
  }
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, { env: { memory: heap().memory } });
  const k: Kernel = {
    id: byId.length,
    name,
    spec,
    bytes,
    module,
    exports: instance.exports,
    exportNames: WebAssembly.Module.exports(module).map((e) => e.name),
  };
  cache.set(name, k);
  bySpec.set(spec, k);
  byId.push(k);
  return k;
}

/** Kernel by id (threads). */
export function kernelById(id: number): Kernel | undefined {
  return byId[id];
}
