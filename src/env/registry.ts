/** `makeEnv`: the one place that maps env names to implementations. */
import { UnknownEnvError } from './errors.js';
import { PointMazeEnv } from './pointmaze.js';
import { PushTEnv } from './pusht/env.js';
import type { Env, EnvName } from './types.js';
import { WallEnv } from './wall.js';

/**
 * Build an environment by name. `params` are numeric overrides of the env's defaults (every
 * env takes `imageSize`; Wall also `doorY`, `wallX`, ...); unknown keys are a ValueError.
 * @throws UnknownEnvError for a name other than wall | pointmaze | pusht
 */
export function makeEnv(name: EnvName | string, params?: Readonly<Record<string, number>>): Env {
  switch (name) {
    case 'wall':
      return new WallEnv(params);
    case 'pointmaze':
      return new PointMazeEnv(params);
    case 'pusht':
      return new PushTEnv(params);
    default:
      throw new UnknownEnvError('makeEnv', String(name));
  }
}
