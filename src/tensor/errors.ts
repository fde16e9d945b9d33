/**
 * Typed errors. Every error quantwm throws on bad input is one of these, so callers can
 * tell "your input is wrong" (and where) from a bug. `where` names the op, file or field.
 */
export class QuantwmError extends Error {
  constructor(
    readonly code: string,
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the op. The message names the op and every shape involved. */
export class ShapeError extends QuantwmError {
  constructor(where: string, message: string) {
    super('E_SHAPE', where, message);
  }
}

/** A dtype the op does not accept. */
export class DTypeError extends QuantwmError {
  constructor(where: string, message: string) {
    super('E_DTYPE', where, message);
  }
}

/** An index, axis or argument outside its valid range; NaN where a number is required. */
export class ValueError extends QuantwmError {
  constructor(where: string, message: string) {
    super('E_VALUE', where, message);
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
