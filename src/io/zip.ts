/**
 * A minimal zip reader for torch.save archives, driven by the central directory only.
 *
 * Streaming zip parsers scan for local-header signatures; torch writes sizes only in the central
 * directory (flag bit 3) and tensor bytes may contain "PK\x03\x04", so we never scan. Steps:
 * find the end-of-central-directory record (EOCD) in the last 65,557 bytes (its comment length
 * must reach the end of the file exactly); follow the ZIP64 locator and record when present;
 * parse every central entry (ZIP64 extra field for saturated sizes/offsets); check each local
 * header (signature, same name) to find the data; then refuse: encryption, methods other than
 * stored (0) and deflate (8), stored entries whose sizes differ, data outside the file or past
 * the central directory, overlapping entries, duplicate names, entry counts above the cap.
 * Deflated entries are inflated with the declared size as a hard cap; CRC-32 is verified on read.
 */
import { AllocBudget, Cursor, crc32, utf8 } from './bytes.js';
import { FormatError, type FormatLoc } from './errors.js';
import { inflateCapped } from './qwm.js';

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  dataOffset: number;
}

export interface ZipOptions {
  maxEntries?: number;
  /** verify CRC-32 of entries on read (default true) */
  verifyCrc?: boolean;
}

const SIG_EOCD = 0x06054b50;
const SIG_Z64_LOC = 0x07064b50;
const SIG_Z64_EOCD = 0x06064b50;
const SIG_CEN = 0x02014b50;
const SIG_LOC = 0x04034b50;
const MAX_RATIO = 1032;

export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** names in central-directory order */
  readonly names: readonly string[];

  private constructor(
    readonly bytes: Uint8Array,
    readonly loc: FormatLoc,
    entries: ZipEntry[],
    private readonly verifyCrc: boolean,
  ) {
    this.entries = new Map(entries.map((e) => [e.name, e]));
    this.names = entries.map((e) => e.name);
  }

  /** Parse and validate the directory of `bytes`. */
  static open(bytes: Uint8Array, loc: FormatLoc, opts: ZipOptions = {}): ZipArchive {
    const maxEntries = opts.maxEntries ?? 1 << 16;
    const n = bytes.length;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // 1. EOCD: 22 bytes + comment (<= 65535), comment must end exactly at EOF.
    let eocd = -1;
    for (let p = n - 22; p >= Math.max(0, n - 22 - 0xffff); p--) {
      if (view.getUint32(p, true) === SIG_EOCD && p + 22 + view.getUint16(p + 20, true) === n) {
        eocd = p;
        break;
      }
    }
    if (eocd < 0) throw new FormatError(n < 22 ? 'E_TRUNCATED' : 'E_MAGIC', { ...loc, offset: n }, 'zip end-of-central-directory record not found (truncated or not a zip)');
    const c = new Cursor(bytes, loc, eocd + 4);
    const disk = c.u16();
    const cdDisk = c.u16();
    let count = c.u16();
    const countAll = c.u16();
    let cdSize = c.u32();
    let cdOffset = c.u32();
    if (disk !== 0 && disk !== 0xffff) throw new FormatError('E_UNSUPPORTED_FORMAT', { ...loc, offset: eocd }, 'multi-disk zip');
    if (cdDisk !== 0 && cdDisk !== 0xffff) throw new FormatError('E_UNSUPPORTED_FORMAT', { ...loc, offset: eocd }, 'multi-disk zip');
    if (count !== countAll) throw new FormatError('E_SYNTAX', { ...loc, offset: eocd }, `entry counts disagree (${count} vs ${countAll})`);
    let cdEnd = eocd; // the central directory must end before this
    const loc64 = eocd - 20;
    if (loc64 >= 0 && view.getUint32(loc64, true) === SIG_Z64_LOC) {
      const l = new Cursor(bytes, loc, loc64 + 4);
      if (l.u32() !== 0) throw new FormatError('E_UNSUPPORTED_FORMAT', { ...loc, offset: loc64 }, 'multi-disk zip64');
      const recOff = l.u64('zip64 EOCD offset');
      if (recOff + 56 > loc64) throw new FormatError('E_OFFSETS', { ...loc, offset: loc64 }, `zip64 EOCD offset ${recOff} is not before its locator`);
      const r = new Cursor(bytes, loc, recOff);
      if (r.u32() !== SIG_Z64_EOCD) throw new FormatError('E_MAGIC', { ...loc, offset: recOff }, 'zip64 end-of-central-directory signature missing');
      const recSize = r.u64();
      if (recOff + 12 + recSize !== loc64) throw new FormatError('E_OFFSETS', { ...loc, offset: recOff }, 'zip64 EOCD record size does not reach its locator');
      r.pos += 4; // versions
      if (r.u32() !== 0 || r.u32() !== 0) throw new FormatError('E_UNSUPPORTED_FORMAT', { ...loc, offset: recOff }, 'multi-disk zip64');
      const c64 = r.u64();
      const c64all = r.u64();
      if (c64 !== c64all) throw new FormatError('E_SYNTAX', { ...loc, offset: recOff }, 'zip64 entry counts disagree');
      count = c64;
      cdSize = r.u64();
      cdOffset = r.u64();
      cdEnd = recOff;
    } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw new FormatError('E_SYNTAX', { ...loc, offset: eocd }, 'saturated EOCD fields without a zip64 record');
    }
    if (count > maxEntries) throw new FormatError('E_LIMIT', { ...loc, offset: eocd }, `${count} zip entries (cap ${maxEntries})`);
    if (cdOffset + cdSize !== cdEnd) {
      throw new FormatError('E_OFFSETS', { ...loc, offset: cdOffset }, `central directory [${cdOffset}, ${cdOffset + cdSize}) does not end at the EOCD (${cdEnd})`);
    }
    if (count * 46 > cdSize) throw new FormatError('E_TRUNCATED', { ...loc, offset: cdOffset }, `${count} entries cannot fit in ${cdSize} central-directory bytes`);

    // 2. central directory
    const cd = new Cursor(bytes.subarray(cdOffset, cdOffset + cdSize), loc, 0, cdOffset);
    const entries: ZipEntry[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const at = cd.at();
      if (cd.u32('central header') !== SIG_CEN) throw new FormatError('E_MAGIC', at, `central directory entry ${i}: bad signature`);
      cd.pos += 4; // version made by, needed
      const flags = cd.u16();
      const method = cd.u16();
      cd.pos += 4; // time, date
      const crc = cd.u32();
      let compressedSize = cd.u32();
      let size = cd.u32();
      const nameLen = cd.u16();
      const extraLen = cd.u16();
      const commentLen = cd.u16();
      const diskStart = cd.u16();
      cd.pos += 6; // attributes
      let localOffset = cd.u32();
      const nameBytes = cd.take(nameLen, 'entry name');
      const extra = cd.take(extraLen, 'entry extra field');
      cd.take(commentLen, 'entry comment');
      const name = utf8(nameBytes, { ...at, field: `entry ${i} name` });
      const eat: FormatLoc = { ...loc, field: name, offset: at.offset };
      if (flags & 0x41) throw new FormatError('E_UNSUPPORTED_FORMAT', eat, 'encrypted zip entry');
      // ZIP64 extended information: the saturated fields, in this order
      if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff || diskStart === 0xffff) {
        const x = new Cursor(extra, eat);
        let found = false;
        while (x.remaining >= 4) {
          const id = x.u16();
          const len = x.u16();
          const body = new Cursor(x.take(len, 'extra field'), eat);
          if (id !== 0x0001) continue;
          found = true;
          if (size === 0xffffffff) size = body.u64('zip64 size');
          if (compressedSize === 0xffffffff) compressedSize = body.u64('zip64 compressed size');
          if (localOffset === 0xffffffff) localOffset = body.u64('zip64 local offset');
          break;
        }
        if (!found) throw new FormatError('E_SYNTAX', eat, 'saturated size/offset without a zip64 extra field');
      }
      if (seen.has(name)) throw new FormatError('E_DUPLICATE_KEY', eat, `zip entry '${name}' appears twice`);
      seen.add(name);
      if (method !== 0 && method !== 8) throw new FormatError('E_UNSUPPORTED_FORMAT', eat, `compression method ${method} (only stored and deflate)`);
      if (method === 0 && size !== compressedSize) throw new FormatError('E_BYTECOUNT', eat, `stored entry: size ${size} != compressed size ${compressedSize}`);
      if (method === 8 && size > MAX_RATIO * compressedSize + 64) {
        throw new FormatError('E_DECOMPRESSED_SIZE', eat, `declared size ${size} from ${compressedSize} deflated bytes exceeds DEFLATE's ${MAX_RATIO}:1 limit`);
      }
      // 3. local header
      if (localOffset + 30 > cdOffset) throw new FormatError('E_OFFSETS', eat, `local header at ${localOffset} is not before the central directory`);
      const lc = new Cursor(bytes, loc, localOffset);
      if (lc.u32() !== SIG_LOC) throw new FormatError('E_MAGIC', { ...eat, offset: localOffset }, 'local header signature missing');
      lc.pos = localOffset + 26;
      const lName = lc.u16();
      const lExtra = lc.u16();
      const lNameBytes = lc.take(lName, 'local name');
      if (lName !== nameLen || !lNameBytes.every((b, k) => b === nameBytes[k])) {
        throw new FormatError('E_SYNTAX', { ...eat, offset: localOffset }, 'local header name differs from the central directory');
      }
      const dataOffset = localOffset + 30 + lName + lExtra;
      if (dataOffset + compressedSize > cdOffset) {
        throw new FormatError('E_OFFSETS', { ...eat, offset: dataOffset }, `data [${dataOffset}, ${dataOffset + compressedSize}) runs into the central directory at ${cdOffset}`);
      }
      entries.push({ name, method, crc, compressedSize, size, localOffset, dataOffset });
    }
    if (cd.remaining !== 0) throw new FormatError('E_SYNTAX', cd.at(), `${cd.remaining} bytes after the last central-directory entry`);
    // 4. no two entries may share bytes
    const byOff = entries.slice().sort((a, b) => a.localOffset - b.localOffset);
    for (let i = 1; i < byOff.length; i++) {
      const prev = byOff[i - 1];
      if (byOff[i].localOffset < prev.dataOffset + prev.compressedSize) {
        throw new FormatError('E_OFFSETS', { ...loc, field: byOff[i].name, offset: byOff[i].localOffset }, `overlaps entry '${prev.name}'`);
      }
    }
    return new ZipArchive(bytes, loc, entries, opts.verifyCrc ?? true);
  }

  /** Sum of the declared sizes of deflated entries (what reading them all may allocate). */
  get inflatedBytes(): number {
    let s = 0;
    for (const e of this.entries.values()) if (e.method === 8) s += e.size;
    return s;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** An entry's bytes: a view for stored entries, a budgeted buffer for deflated ones. */
  read(name: string, budget: AllocBudget): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new FormatError('E_NAME', { ...this.loc, field: name }, 'no such zip entry');
    const at: FormatLoc = { ...this.loc, field: name, offset: e.dataOffset };
    const raw = this.bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    const data = e.method === 0 ? raw : inflateCapped(raw, e.size, budget, at);
    if (this.verifyCrc) {
      const got = crc32(data);
      if (got !== e.crc) throw new FormatError('E_CHECKSUM', at, `CRC-32 0x${got.toString(16)} != central directory 0x${e.crc.toString(16)}`);
    }
    return data;
  }
}
