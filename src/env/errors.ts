/**
 * Typed errors of the environment layer. Bad actions and states raise the tensor layer's
 * ShapeError / ValueError; the two below are specific to env names and dataset bytes.
 */
import { QuantwmError } from '../tensor/errors.js';

/** `makeEnv` (or a dataset header) named an environment quantwm does not have. */
export class UnknownEnvError extends QuantwmError {
  constructor(where: string, readonly envName: string) {
    super('E_UNKNOWN_ENV', where, `unknown environment '${envName}' (expected wall | pointmaze | pusht)`);
  }
}

/** Dataset bytes that are not a quantwm dataset, are corrupt, or are cut short. */
export class DatasetFormatError extends QuantwmError {
  constructor(where: string, message: string) {
    super('E_DATASET', where, message);
  }
}
