/** Reads test/fixtures/quant/quant.json + quant.bin (made by scripts/golden/quant.py). Test-only. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface FixtureTensor {
  shape: number[];
  data: Float32Array | Int32Array | Int8Array;
}

export interface FixtureCase {
  name: string;
  kind: string;
  params: Record<string, number | boolean>;
  ties?: number;
  tensors: Record<string, FixtureTensor>;
}

interface RawTensor {
  shape: number[];
  dtype: 'f32' | 'i32' | 'i8';
  offset: number;
  length: number;
}

const dir = fileURLToPath(new URL('../fixtures/quant/', import.meta.url));

export function loadQuantFixture(): { torch: string; cases: FixtureCase[] } {
  const index = JSON.parse(readFileSync(dir + 'quant.json', 'utf8')) as {
    format: string;
    version: number;
    torch: string;
    blob: string;
    blob_bytes: number;
    cases: (Omit<FixtureCase, 'tensors'> & { tensors: Record<string, RawTensor> })[];
  };
  if (index.format !== 'quantwm-golden-quant' || index.version !== 1) throw new Error(`unexpected fixture ${index.format} v${index.version}`);
  const bytes = readFileSync(dir + index.blob);
  if (bytes.length !== index.blob_bytes) throw new Error(`blob has ${bytes.length} bytes, index says ${index.blob_bytes}`);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const cases = index.cases.map((c) => {
    const tensors: Record<string, FixtureTensor> = {};
    for (const [k, t] of Object.entries(c.tensors)) {
      const n = t.length / (t.dtype === 'i8' ? 1 : 4);
      const data =
        t.dtype === 'f32' ? new Float32Array(buf, t.offset, n) : t.dtype === 'i32' ? new Int32Array(buf, t.offset, n) : new Int8Array(buf, t.offset, n);
      tensors[k] = { shape: t.shape, data };
    }
    return { ...c, tensors };
  });
  return { torch: index.torch, cases };
}

/** Index of the first element whose float32 bits differ (sign of zero included), or -1. */
export function firstBitDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/** Assertion message for a bit mismatch. */
export function bitDiffMessage(what: string, i: number, ours: ArrayLike<number>, ref: ArrayLike<number>, x?: ArrayLike<number>): string {
  return `${what}: first mismatch at ${i}: ours ${ours[i]} vs torch ${ref[i]}${x ? ` (input ${x[i]})` : ''}`;
}
