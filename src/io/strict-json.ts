/**
 * A strict JSON parser for untrusted headers (safetensors). Unlike JSON.parse it refuses
 * duplicate keys (JSON.parse and serde both keep the last one silently: a parser differential),
 * numbers that are not non-negative integers <= 2^53 - 1 (headers hold only sizes and offsets),
 * nesting deeper than `maxDepth`, and lone surrogates in strings. Objects are returned as Maps
 * so keys like "__proto__" are inert. Iterative; no recursion on input depth.
 */
import { FormatError, type FormatLoc } from './errors.js';

export type Json = null | boolean | number | string | Json[] | Map<string, Json>;

export function parseStrictJson(text: string, loc: FormatLoc, maxDepth = 8): Json {
  let i = 0;
  const n = text.length;
  const fail = (msg: string, code: 'E_SYNTAX' | 'E_DUPLICATE_KEY' | 'E_LIMIT' = 'E_SYNTAX'): never => {
    throw new FormatError(code, { ...loc, offset: (loc.offset ?? 0) + i }, `header JSON: ${msg}`);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    // at opening quote
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        break;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(start, i);
        i++;
        const e = text[i++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const h = text.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
            out += String.fromCharCode(parseInt(h, 16));
            i += 4;
            break;
          }
          default:
            fail('bad escape');
        }
        start = i;
        continue;
      }
      i++;
    }
    if (hasLoneSurrogate(out)) fail('lone surrogate in string');
    return out;
  };
  const num = (): number => {
    const start = i;
    if (text[i] === '-') fail('negative numbers are not allowed');
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    const s = text.slice(start, i);
    if (s.length === 0) fail('unexpected character');
    if (s.length > 1 && s[0] === '0') fail('leading zero');
    if (i < n && (text[i] === '.' || text[i] === 'e' || text[i] === 'E')) fail('only integers are allowed');
    const v = Number(s);
    if (!Number.isSafeInteger(v)) fail(`integer ${s} is above 2^53 - 1`);
    return v;
  };
  const lit = (word: string, v: Json): Json => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return v;
    }
    return fail('unexpected character');
  };

  // Explicit stack of open containers.
  type Frame = { arr: Json[] } | { map: Map<string, Json>; key: string | undefined };
  const stack: Frame[] = [];
  let result: Json | undefined;
  const emit = (v: Json): void => {
    const top = stack[stack.length - 1];
    if (!top) result = v;
    else if ('arr' in top) top.arr.push(v);
    else {
      top.map.set(top.key!, v);
      top.key = undefined;
    }
  };
  ws();
  for (;;) {
    // expecting a value (or the close of an empty container, handled below)
    const top = stack[stack.length - 1];
    if (top && 'map' in top) {
      // expecting a key
      ws();
      if (text[i] !== '"') fail('expected a string key');
      const k = str();
      if (top.map.has(k)) fail(`duplicate key ${JSON.stringify(k)}`, 'E_DUPLICATE_KEY');
      ws();
      if (text[i] !== ':') fail("expected ':'");
      i++;
      top.key = k;
      top.map.set(k, null); // reserve (duplicate detection sees it)
    }
    ws();
    if (i >= n) fail('unexpected end');
    const c = text[i];
    let opened = false;
    if (c === '{' || c === '[') {
      if (stack.length >= maxDepth) fail(`nesting deeper than ${maxDepth}`, 'E_LIMIT');
      i++;
      ws();
      const close = c === '{' ? '}' : ']';
      if (text[i] === close) {
        i++;
        emit(c === '{' ? new Map() : []);
      } else {
        stack.push(c === '{' ? { map: new Map(), key: undefined } : { arr: [] });
        opened = true;
      }
    } else if (c === '"') emit(str());
    else if (c === 't') emit(lit('true', true));
    else if (c === 'f') emit(lit('false', false));
    else if (c === 'n') emit(lit('null', null));
    else emit(num());
    if (opened) continue;
    // after a value: ',' continues the container, a closer completes it
    for (;;) {
      const f = stack[stack.length - 1];
      if (!f) break;
      ws();
      const d = text[i];
      if (d === ',') {
        i++;
        break;
      }
      if (d === ('arr' in f ? ']' : '}')) {
        i++;
        stack.pop();
        emit('arr' in f ? f.arr : f.map);
        continue;
      }
      fail(`expected ',' or '${'arr' in f ? ']' : '}'}'`);
    }
    if (stack.length === 0) break;
  }
  ws();
  if (i !== n) fail('trailing characters after the header object');
  return result as Json;
}

function hasLoneSurrogate(s: string): boolean {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(k + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      k++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}
