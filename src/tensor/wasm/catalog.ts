/**
 * KERNELS: the one list that drives the kernel tests (describe.each), the SHA-256 byte
 * snapshots and the kernel benches. Adding a variant is one entry in its family's file;
 * adding a family is one import line here. Each entry is { spec, emit, ref, ... }
 * (see KernelEntry in ./spec.ts): a kernel without a TypeScript twin does not type-check.
 */
import type { KernelEntry } from './spec.js';

// Families register here, one import line each:
import { F32_KERNELS } from './f32/entries.js';
import { I8_KERNELS } from './int8/entries.js';
import { I4_KERNELS } from './int4/entries.js';

export const KERNELS: readonly KernelEntry<any>[] = [...F32_KERNELS, ...I8_KERNELS, ...I4_KERNELS];

export { kernelName } from './spec.js';
export type { KernelEntry, KernelSpec, EmitContext } from './spec.js';
