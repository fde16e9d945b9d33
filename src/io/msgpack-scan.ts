/**
 * A structural pre-scan of msgpack bytes, run before @msgpack/msgpack's decoder sees them.
 *
 * The decoder (3.1.3) has no depth limit and allocates `new Array(declaredLength)` before it
 * reads a single element, so a few KB of nested array32 headers can demand gigabytes. This scan
 * walks the byte stream iteratively without allocating per item and refuses:
 *   - nesting deeper than `maxDepth`, more than `maxItems` values in total;
 *   - a container whose declared count exceeds the bytes left (every element needs >= 1 byte);
 *   - str/bin lengths above their caps or past the end; ext types (the format never uses them);
 *   - map keys that are not strings; the reserved byte 0xc1; trailing bytes after the value.
 * After it passes, the decoder's allocations are bounded by the input length.
 */
import { FormatError, type FormatLoc } from './errors.js';

export interface MsgpackLimits {
  maxDepth: number;
  maxItems: number;
  maxStrLength: number;
  maxBinLength: number;
  maxArrayLength: number;
  maxMapLength: number;
}

/** Throws FormatError (E_SYNTAX, E_LIMIT, E_TRUNCATED, E_TRAILING_DATA) unless `bytes` is one bounded msgpack value. */
export function scanMsgpack(bytes: Uint8Array, limits: MsgpackLimits, loc: FormatLoc): void {
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Per open container: elements still expected, and whether it is a map (even slots are keys).
  const left: number[] = [];
  const isMap: boolean[] = [];
  const seen: number[] = [];
  let pos = 0;
  let items = 0;
  const at = (): FormatLoc => ({ ...loc, offset: (loc.offset ?? 0) + pos });
  const need = (k: number, what: string): void => {
    if (pos + k > n) throw new FormatError('E_TRUNCATED', at(), `msgpack ${what}: need ${k} bytes, ${n - pos} left`);
  };
  const u16 = (): number => view.getUint16(pos, false);
  const u32 = (): number => view.getUint32(pos, false);

  for (;;) {
    if (pos >= n) throw new FormatError('E_TRUNCATED', at(), 'msgpack value expected, input ended');
    if (++items > limits.maxItems) throw new FormatError('E_LIMIT', at(), `more than ${limits.maxItems} msgpack values`);
    const d = left.length;
    if (d > 0 && isMap[d - 1] && seen[d - 1] % 2 === 0) {
      // a map key: must be a string
      const b = bytes[pos];
      if (!((b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb)) {
        throw new FormatError('E_SYNTAX', at(), `msgpack map key must be a string (type byte 0x${b.toString(16)})`);
      }
    }
    const b = bytes[pos++];
    let container = -1; // element count of a new container
    let map = false;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, nil, bool
    } else if (b >= 0x80 && b <= 0x8f) {
      container = b & 0x0f;
      map = true;
    } else if (b >= 0x90 && b <= 0x9f) {
      container = b & 0x0f;
    } else if (b >= 0xa0 && b <= 0xbf) {
      skipData(b & 0x1f, limits.maxStrLength, 'str');
    } else {
      switch (b) {
        case 0xc4:
          need(1, 'bin8 length');
          skipData(bytes[pos++], limits.maxBinLength, 'bin');
          break;
        case 0xc5:
          need(2, 'bin16 length');
          pos += 2;
          skipData(view.getUint16(pos - 2, false), limits.maxBinLength, 'bin');
          break;
        case 0xc6:
          need(4, 'bin32 length');
          pos += 4;
          skipData(view.getUint32(pos - 4, false), limits.maxBinLength, 'bin');
          break;
        case 0xca:
          need(4, 'float32');
          pos += 4;
          break;
        case 0xcb:
          need(8, 'float64');
          pos += 8;
          break;
        case 0xcc:
        case 0xd0:
          need(1, 'int8');
          pos += 1;
          break;
        case 0xcd:
        case 0xd1:
          need(2, 'int16');
          pos += 2;
          break;
        case 0xce:
        case 0xd2:
          need(4, 'int32');
          pos += 4;
          break;
        case 0xcf:
        case 0xd3:
          need(8, 'int64');
          pos += 8;
          break;
        case 0xd9:
          need(1, 'str8 length');
          skipData(bytes[pos++], limits.maxStrLength, 'str');
          break;
        case 0xda:
          need(2, 'str16 length');
          pos += 2;
          skipData(view.getUint16(pos - 2, false), limits.maxStrLength, 'str');
          break;
        case 0xdb:
          need(4, 'str32 length');
          pos += 4;
          skipData(view.getUint32(pos - 4, false), limits.maxStrLength, 'str');
          break;
        case 0xdc:
          need(2, 'array16 count');
          container = u16();
          pos += 2;
          break;
        case 0xdd:
          need(4, 'array32 count');
          container = u32();
          pos += 4;
          break;
        case 0xde:
          need(2, 'map16 count');
          container = u16();
          pos += 2;
          map = true;
          break;
        case 0xdf:
          need(4, 'map32 count');
          container = u32();
          pos += 4;
          map = true;
          break;
        case 0xc1:
          pos--;
          throw new FormatError('E_SYNTAX', at(), 'msgpack reserved type byte 0xc1');
        default:
          // 0xc7-0xc9 ext, 0xd4-0xd8 fixext
          pos--;
          throw new FormatError('E_SYNTAX', at(), `msgpack extension type 0x${b.toString(16)} is not used by this format`);
      }
    }
    if (container >= 0) {
      const cap = map ? limits.maxMapLength : limits.maxArrayLength;
      if (container > cap) throw new FormatError('E_LIMIT', at(), `msgpack ${map ? 'map' : 'array'} of ${container} entries (cap ${cap})`);
      const slots = map ? container * 2 : container;
      if (slots > n - pos) {
        throw new FormatError('E_TRUNCATED', at(), `msgpack ${map ? 'map' : 'array'} declares ${container} entries, only ${n - pos} bytes left`);
      }
      if (slots > 0) {
        if (left.length >= limits.maxDepth) throw new FormatError('E_LIMIT', at(), `msgpack nesting deeper than ${limits.maxDepth}`);
        left.push(slots);
        isMap.push(map);
        seen.push(0);
        continue;
      }
    }
    // one value completed: pop finished containers
    while (left.length > 0) {
      const t = left.length - 1;
      seen[t]++;
      if (--left[t] > 0) break;
      left.pop();
      isMap.pop();
      seen.pop();
    }
    if (left.length === 0) break;
  }
  if (pos !== n) throw new FormatError('E_TRAILING_DATA', at(), `${n - pos} bytes after the msgpack value`);

  function skipData(len: number, cap: number, what: string): void {
    if (len > cap) throw new FormatError('E_LIMIT', at(), `msgpack ${what} of ${len} bytes (cap ${cap})`);
    need(len, what);
    pos += len;
  }
}
