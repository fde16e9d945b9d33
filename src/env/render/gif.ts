/**
 * Animated GIF writer (GIF89a, one global 256-colour palette, NETSCAPE looping, LZW).
 *
 * Palette: the exact colours of all frames if there are at most 256; otherwise the 256 most
 * frequent colours (ties broken by the packed RGB value), every other colour mapped to its
 * nearest palette entry by squared RGB distance (ties to the lower index). Deterministic.
 */
import { ShapeError, ValueError } from '../../tensor/errors.js';

/**
 * @param frames each (height, width, 3) uint8
 * @param delayCs frame delay in 1/100 s
 */
export function encodeGif(frames: readonly Uint8Array[], width: number, height: number, delayCs = 10): Uint8Array {
  if (frames.length === 0) throw new ValueError('encodeGif', 'no frames');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 65535 || height > 65535) {
    throw new ShapeError('encodeGif', `bad size ${width}x${height}`);
  }
  frames.forEach((f, i) => {
    if (f.length !== width * height * 3) throw new ShapeError('encodeGif', `frame ${i} has ${f.length} bytes, expected ${width}*${height}*3`);
  });
  const { palette, index } = buildPalette(frames);
  const out = new ByteSink();
  out.ascii('GIF89a');
  out.u16(width);
  out.u16(height);
  out.byte(0xf7); // global colour table, 8 bits/channel, 256 entries
  out.byte(0);
  out.byte(0);
  for (let i = 0; i < 256; i++) {
    out.byte(palette[3 * i] ?? 0);
    out.byte(palette[3 * i + 1] ?? 0);
    out.byte(palette[3 * i + 2] ?? 0);
  }
  out.bytes([0x21, 0xff, 0x0b]);
  out.ascii('NETSCAPE2.0');
  out.bytes([0x03, 0x01, 0x00, 0x00, 0x00]);
  const pixels = new Uint8Array(width * height);
  for (const f of frames) {
    out.bytes([0x21, 0xf9, 0x04, 0x00]);
    out.u16(Math.max(0, Math.min(65535, Math.round(delayCs))));
    out.bytes([0x00, 0x00]);
    out.byte(0x2c);
    out.u16(0);
    out.u16(0);
    out.u16(width);
    out.u16(height);
    out.byte(0);
    for (let p = 0; p < width * height; p++) pixels[p] = index(f[3 * p], f[3 * p + 1], f[3 * p + 2]);
    out.byte(8);
    const lzw = lzwEncode(pixels, 8);
    for (let o = 0; o < lzw.length; o += 255) {
      const n = Math.min(255, lzw.length - o);
      out.byte(n);
      out.bytes(lzw.subarray(o, o + n));
    }
    out.byte(0);
  }
  out.byte(0x3b);
  return out.result();
}

function buildPalette(frames: readonly Uint8Array[]): { palette: number[]; index: (r: number, g: number, b: number) => number } {
  const counts = new Map<number, number>();
  for (const f of frames) {
    for (let i = 0; i < f.length; i += 3) {
      const k = (f[i] << 16) | (f[i + 1] << 8) | f[i + 2];
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  const keys = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || a - b).slice(0, 256);
  const palette: number[] = [];
  for (const k of keys) palette.push((k >> 16) & 255, (k >> 8) & 255, k & 255);
  const lookup = new Map<number, number>();
  keys.forEach((k, i) => lookup.set(k, i));
  const index = (r: number, g: number, b: number): number => {
    const k = (r << 16) | (g << 8) | b;
    const hit = lookup.get(k);
    if (hit !== undefined) return hit;
    let best = 0;
    let bestD = Infinity;
    for (let i = 0; i < keys.length; i++) {
      const dr = palette[3 * i] - r;
      const dg = palette[3 * i + 1] - g;
      const db = palette[3 * i + 2] - b;
      const d = dr * dr + dg * dg + db * db;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    lookup.set(k, best);
    return best;
  };
  return { palette, index };
}

/** GIF-flavoured LZW (variable code size up to 12 bits, clear code when the table is full). */
export function lzwEncode(indices: Uint8Array, minCodeSize: number): Uint8Array {
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  let next = eoi + 1;
  let size = minCodeSize + 1;
  let table = new Map<number, number>();
  const sink = new ByteSink();
  let acc = 0;
  let nbits = 0;
  const emit = (code: number): void => {
    acc |= code << nbits;
    nbits += size;
    while (nbits >= 8) {
      sink.byte(acc & 255);
      acc >>>= 8;
      nbits -= 8;
    }
  };
  emit(clear);
  if (indices.length === 0) {
    emit(eoi);
    if (nbits > 0) sink.byte(acc & 255);
    return sink.result();
  }
  let prefix = indices[0];
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i];
    const key = prefix * 256 + k;
    const hit = table.get(key);
    if (hit !== undefined) {
      prefix = hit;
      continue;
    }
    emit(prefix);
    if (next === 4096) {
      emit(clear);
      table = new Map();
      next = eoi + 1;
      size = minCodeSize + 1;
    } else {
      if (next >= 1 << size) size++;
      table.set(key, next++);
    }
    prefix = k;
  }
  emit(prefix);
  emit(eoi);
  if (nbits > 0) sink.byte(acc & 255);
  return sink.result();
}

class ByteSink {
  private buf = new Uint8Array(1024);
  private n = 0;
  private grow(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.n + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  byte(v: number): void {
    this.grow(1);
    this.buf[this.n++] = v;
  }
  bytes(v: ArrayLike<number>): void {
    this.grow(v.length);
    for (let i = 0; i < v.length; i++) this.buf[this.n++] = v[i];
  }
  u16(v: number): void {
    this.byte(v & 255);
    this.byte((v >> 8) & 255);
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}
