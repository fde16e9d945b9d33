/**
 * Loader for the PyTorch golden fixtures in test/fixtures/ops (made by scripts/golden/ops.py),
 * plus the float32 distance helpers the op tests use to state their bounds.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../../../src/tensor/tensor.js';

interface Enc {
  dtype: 'f32' | 'f64' | 'i32' | 'u8';
  shape: number[];
  b64: string;
}
type Field = Enc | number | boolean | string;
export interface GoldenDoc {
  format: string;
  torch: string;
  cases: Record<string, Record<string, Field>>;
}

export function loadGolden(name: string): GoldenDoc {
  const url = new URL(`../../fixtures/ops/${name}.json`, import.meta.url);
  const doc = JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as GoldenDoc;
  if (doc.format !== 'quantwm-golden-ops-1') throw new Error(`${name}: unknown fixture format ${doc.format}`);
  return doc;
}

function bytes(e: Enc): Uint8Array {
  const bin = Buffer.from(e.b64, 'base64');
  const out = new Uint8Array(bin.length);
  out.set(bin);
  return out;
}

/** Decode a stored float32/int32/u8 tensor (bytes are little-endian; so is every JS engine we run on). */
export function tensorOf(f: Field): Tensor {
  const e = f as Enc;
  const b = bytes(e).buffer;
  switch (e.dtype) {
    case 'f32':
      return new Tensor('f32', e.shape, new Float32Array(b));
    case 'i32':
      return new Tensor('i32', e.shape, new Int32Array(b));
    case 'u8':
      return new Tensor('u8', e.shape, new Uint8Array(b));
    default:
      throw new Error(`tensorOf: ${e.dtype} is not a tensor dtype`);
  }
}

export function f32Of(f: Field): Tensor<'f32'> {
  const t = tensorOf(f);
  if (t.dtype !== 'f32') throw new Error(`expected f32 field, got ${t.dtype}`);
  return t as Tensor<'f32'>;
}

export function f64Of(f: Field): Float64Array {
  const e = f as Enc;
  if (e.dtype !== 'f64') throw new Error(`expected f64 field, got ${e.dtype}`);
  return new Float64Array(bytes(e).buffer);
}

/** float32 ulp at |v| (the spacing of float32 numbers there; 2^-149 for subnormals and 0). */
export function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** Distance in float32 ulps of b (the reference); 0 when both are the same number or both NaN. */
export function ulpDist32(a: number, b: number): number {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  return Math.abs(a - b) / ulp32(b);
}

/** Largest index-wise |a - b| / tol(i), reported with its index for failure messages. */
export function worst(a: ArrayLike<number>, b: ArrayLike<number>, tol: (i: number) => number): { ratio: number; at: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] === b[i] ? 0 : Math.abs(a[i] - b[i]) / tol(i);
    if (!(d <= ratio)) {
      ratio = d;
      at = i;
    }
  }
  return { ratio, at };
}
