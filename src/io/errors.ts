/**
 * The error family of the weight-file readers and writers. Every refusal of a file is a
 * FormatError (a QuantwmError) with a stable `code` and a location: the file, the field or
 * entry inside it, and a byte offset where one is known. Subclasses carry extra data for the
 * two cases a caller may want to inspect programmatically (unsafe pickle globals, non-finite
 * weights).
 */
import { QuantwmError } from '../tensor/errors.js';

/**
 * Stable error codes. The reliability table in docs/formats.md lists what triggers each one.
 */
export type FormatCode =
  | 'E_NOT_MODEL_FILE' // empty file, Git LFS pointer, HTML page
  | 'E_UNSUPPORTED_FORMAT' // legacy torch pickle, TorchScript, unknown magic, unsupported version
  | 'E_MAGIC' // a known container with a wrong signature
  | 'E_TRUNCATED' // a read past the end of the file or of a record
  | 'E_TRAILING_DATA' // bytes after the last declared byte
  | 'E_HEADER_TOO_LARGE' // a header / central directory / data.pkl above its cap
  | 'E_LIMIT' // a count, depth, length or allocation above its cap
  | 'E_DECOMPRESSED_SIZE' // compression bomb or a lying declared size
  | 'E_CHECKSUM' // CRC mismatch
  | 'E_DUPLICATE_KEY' // repeated tensor / entry / JSON key
  | 'E_OFFSETS' // gaps, overlaps, out-of-bounds ranges
  | 'E_DTYPE' // unknown or unsupported dtype / storage type
  | 'E_BYTECOUNT' // declared bytes disagree with dtype x shape, view beyond storage
  | 'E_SHAPE' // invalid shape or a shape that does not fit its role
  | 'E_NONFINITE' // NaN / Inf in f32 weights
  | 'E_CONFIG' // model config that does not match the tensors
  | 'E_SYNTAX' // malformed JSON / msgpack / pickle / zip structure
  | 'E_PICKLE_OPCODE' // a pickle opcode outside the supported set
  | 'E_PICKLE_GLOBAL' // a global in a position the reader cannot interpret
  | 'E_SUSPICIOUS_PICKLE' // globals that only appear in exploit payloads
  | 'E_ENDIANNESS' // big-endian data we do not convert
  | 'E_NAME'; // a tensor name the name map does not know, or a missing required tensor

/** Where in a file something went wrong. All fields optional; `where` is built from them. */
export interface FormatLoc {
  /** file name or a label such as "<bytes>" */
  file?: string;
  /** field, entry or tensor name */
  field?: string;
  /** byte offset inside the file (or inside the named record) */
  offset?: number;
}

function fmtLoc(loc: FormatLoc): string {
  let s = loc.file ?? '<bytes>';
  if (loc.field !== undefined) s += `:${loc.field}`;
  if (loc.offset !== undefined) s += `@${loc.offset}`;
  return s;
}

/** Any refusal of a weight file. `where` = "file:field@offset". */
export class FormatError extends QuantwmError {
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly offset: number | undefined;
  constructor(code: FormatCode, loc: FormatLoc, message: string) {
    super(code, fmtLoc(loc), message);
    this.file = loc.file;
    this.field = loc.field;
    this.offset = loc.offset;
  }
}

/**
 * A pickle that references callables which only appear in exploit payloads (os.system,
 * builtins.eval, ...). Nothing is ever executed by our reader; we refuse anyway because the
 * user may later load the same file in Python. `globals` lists every offending "module.name".
 */
export class UnsafePickleError extends FormatError {
  constructor(
    loc: FormatLoc,
    readonly globals: readonly string[],
  ) {
    super('E_SUSPICIOUS_PICKLE', loc, `refusing a pickle that references dangerous callables: ${globals.join(', ')}`);
  }
}

/** NaN or +-Inf inside an f32 weight: names the tensor, the flat index and the value. */
export class NonFiniteError extends FormatError {
  constructor(
    loc: FormatLoc,
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
  ) {
    super('E_NONFINITE', { ...loc, field: tensor }, `tensor '${tensor}' holds ${value} at flat index ${index}`);
  }
}
