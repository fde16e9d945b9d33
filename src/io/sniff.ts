/**
 * Recognise a weight file from its first bytes, and refuse things that are not model files
 * (empty files, Git LFS pointers, HTML error pages) with a message that says what they are.
 */
import { FormatError, type FormatLoc } from './errors.js';
import { QWM_MAGIC } from './qwm.js';

export type WeightFormat = 'qwm' | 'safetensors' | 'torch-zip';

const LEGACY_TORCH = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>, at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

function ascii(bytes: Uint8Array, n: number): string {
  let s = '';
  for (let i = 0; i < Math.min(n, bytes.length); i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** Throw E_NOT_MODEL_FILE for empty files, Git LFS pointers and HTML/JSON error pages. */
export function refuseNonModel(bytes: Uint8Array, loc: FormatLoc): void {
  if (bytes.length === 0) throw new FormatError('E_NOT_MODEL_FILE', loc, 'empty file');
  const head = ascii(bytes, 64).trimStart().toLowerCase();
  if (head.startsWith('version https://git-lfs')) {
    throw new FormatError('E_NOT_MODEL_FILE', loc, 'this is a Git LFS pointer, not model data (run `git lfs pull`)');
  }
  if (head.startsWith('<!doctype') || head.startsWith('<html') || head.startsWith('<?xml')) {
    throw new FormatError('E_NOT_MODEL_FILE', loc, 'this is an HTML/XML page (a failed download?), not model data');
  }
}

/** Which reader handles `bytes`; throws E_NOT_MODEL_FILE / E_UNSUPPORTED_FORMAT otherwise. */
export function detectFormat(bytes: Uint8Array, loc: FormatLoc = {}): WeightFormat {
  refuseNonModel(bytes, loc);
  if (startsWith(bytes, QWM_MAGIC)) return 'qwm';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return 'torch-zip';
  if (startsWith(bytes, LEGACY_TORCH)) {
    throw new FormatError('E_UNSUPPORTED_FORMAT', loc, 'legacy (pre-1.6) torch.save format: re-save it with torch >= 1.6 (zip format)');
  }
  if (bytes.length >= 262 && ascii(bytes.subarray(257), 5) === 'ustar') {
    throw new FormatError('E_UNSUPPORTED_FORMAT', loc, 'tar-based torch checkpoint: re-save it with torch >= 1.6');
  }
  if (bytes[0] === 0x80 && bytes.length > 1 && bytes[1] >= 2 && bytes[1] <= 5) {
    throw new FormatError('E_UNSUPPORTED_FORMAT', loc, 'a bare pickle, not a torch zip checkpoint');
  }
  // safetensors: u64 header length, then '{' (possibly after JSON whitespace)
  if (bytes.length >= 9) {
    for (let i = 8; i < Math.min(bytes.length, 64); i++) {
      const c = bytes[i];
      if (c === 0x7b) return 'safetensors';
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    }
  }
  throw new FormatError('E_UNSUPPORTED_FORMAT', loc, 'unknown format (expected .qwm, .safetensors or a torch zip checkpoint)');
}
