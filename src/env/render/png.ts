/**
 * PNG writer (8-bit RGB, filter 0 rows, zlib via fflate) and a reader for 8-bit RGB / RGBA
 * non-interlaced PNGs (all five row filters), enough to read back what quantwm writes.
 */
import { unzlibSync, zlibSync } from 'fflate';
import { ShapeError } from '../../tensor/errors.js';
import { crc32 } from '../crc32.js';
import { DatasetFormatError } from '../errors.js';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function u32be(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  out.set(u32be(body.length), 0);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  out.set(u32be(crc32(out.subarray(4, 8 + body.length))), 8 + body.length);
  return out;
}

/**
 * Encode an RGB image as PNG.
 * @param rgb (height, width, 3) uint8
 */
export function encodePng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || rgb.length !== width * height * 3) {
    throw new ShapeError('encodePng', `rgb has ${rgb.length} bytes, expected width*height*3 = ${width}*${height}*3`);
  }
  const stride = width * 3;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const ihdr = new Uint8Array([...u32be(width), ...u32be(height), 8, 2, 0, 0, 0]);
  const parts = [new Uint8Array(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', zlibSync(raw, { level: 6 })), chunk('IEND', new Uint8Array(0))];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface DecodedPng {
  width: number;
  height: number;
  /** (height, width, 3) uint8; alpha, if present, is dropped */
  rgb: Uint8Array;
}

/** Decode an 8-bit RGB or RGBA, non-interlaced PNG. Throws DatasetFormatError on anything else or on corrupt bytes. */
export function decodePng(bytes: Uint8Array): DecodedPng {
  const where = 'decodePng';
  for (let i = 0; i < 8; i++) if (bytes[i] !== SIGNATURE[i]) throw new DatasetFormatError(where, 'not a PNG (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  for (;;) {
    if (o + 12 > bytes.length) throw new DatasetFormatError(where, 'truncated chunk');
    const len = dv.getUint32(o);
    const type = String.fromCharCode(bytes[o + 4], bytes[o + 5], bytes[o + 6], bytes[o + 7]);
    if (o + 12 + len > bytes.length) throw new DatasetFormatError(where, `chunk ${type} runs past the end`);
    const body = bytes.subarray(o + 8, o + 8 + len);
    if (crc32(bytes.subarray(o + 4, o + 8 + len)) !== dv.getUint32(o + 8 + len)) throw new DatasetFormatError(where, `chunk ${type} CRC mismatch`);
    if (type === 'IHDR') {
      width = dv.getUint32(o + 8);
      height = dv.getUint32(o + 12);
      const depth = body[8];
      const ctype = body[9];
      if (depth !== 8 || (ctype !== 2 && ctype !== 6) || body[12] !== 0) throw new DatasetFormatError(where, `unsupported PNG (depth ${depth}, colour type ${ctype}, interlace ${body[12]})`);
      channels = ctype === 2 ? 3 : 4;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    o += 12 + len;
  }
  if (channels === 0) throw new DatasetFormatError(where, 'missing IHDR');
  const zlen = idat.reduce((s, p) => s + p.length, 0);
  const z = new Uint8Array(zlen);
  let zo = 0;
  for (const p of idat) {
    z.set(p, zo);
    zo += p.length;
  }
  const raw = unzlibSync(z);
  const stride = width * channels;
  if (raw.length !== (stride + 1) * height) throw new DatasetFormatError(where, `image data is ${raw.length} bytes, expected ${(stride + 1) * height}`);
  const img = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? img[y * stride + x - channels] : 0;
      const b = y > 0 ? img[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? img[(y - 1) * stride + x - channels] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (f !== 0) throw new DatasetFormatError(where, `bad filter type ${f} on row ${y}`);
      img[y * stride + x] = (line[x] + pred) & 255;
    }
  }
  if (channels === 3) return { width, height, rgb: img };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[3 * i] = img[4 * i];
    rgb[3 * i + 1] = img[4 * i + 1];
    rgb[3 * i + 2] = img[4 * i + 2];
  }
  return { width, height, rgb };
}
