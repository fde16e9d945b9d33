/**
 * Integer types of the quantizers: 2-8 bits, signed or unsigned; 16 bits means "quantization off"
 * (QuantWM's QLinear/QAct return the float input when bits >= 16, so W4A16 is weight-only).
 *
 *   signed b:   qmin = -2^(b-1), qmax = 2^(b-1) - 1     int4: [-8, 7], int8: [-128, 127]
 *   unsigned b: qmin = 0,        qmax = 2^b - 1          uint4: [0, 15], uint8: [0, 255]
 */
import { ValueError } from '../tensor/errors.js';

export interface BitType {
  /** 2..8, or 16 = off */
  readonly bits: number;
  readonly signed: boolean;
  readonly qmin: number;
  readonly qmax: number;
  /** e.g. 'int4', 'uint8', 'off' */
  readonly name: string;
  /** true for bits = 16: the tensor stays float */
  readonly off: boolean;
}

/** Bit widths a quantizer accepts: 2..8 (16 = off). */
export const QUANT_BITS: readonly number[] = [2, 3, 4, 5, 6, 7, 8, 16];

/**
 * The bit type for `bits` (2..8 or 16) and signedness.
 * @throws ValueError for any other width
 */
export function bitType(bits: number, signed: boolean): BitType {
  if (!QUANT_BITS.includes(bits)) {
    throw new ValueError('bitType', `bits must be one of ${QUANT_BITS.join(', ')} (16 = off), got ${bits}`);
  }
  const off = bits === 16;
  const qmin = signed ? -(2 ** (bits - 1)) : 0;
  const qmax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  return Object.freeze({ bits, signed, qmin, qmax, off, name: off ? 'off' : `${signed ? 'int' : 'uint'}${bits}` });
}

/** Is `bits` the "off" width (>= 16, as QuantWM tests it)? */
export function isOff(bits: number): boolean {
  return bits >= 16;
}
