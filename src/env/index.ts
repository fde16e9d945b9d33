/**
 * quantwm environments: Wall, PointMaze and PushT with DINO-WM semantics, their renderers,
 * PNG/GIF writers, and the dataset generators, file format and loader. Web-standard only.
 */
export type { Env, EnvName, NumVec, Observation, StartGoal } from './types.js';
export { ENV_NAMES, checkVec } from './types.js';
export { DatasetFormatError, UnknownEnvError } from './errors.js';
export { makeEnv } from './registry.js';
export { WallEnv, WALL_DEFAULTS, WALL_SUCCESS_DISTANCE, wallTransition, wallGeometry, inSolidWall, type WallGeometry } from './wall.js';
export { PointMazeEnv, POINTMAZE, POINTMAZE_DEFAULTS, U_MAZE, pointMazeStep, samplePointMazeState } from './pointmaze.js';
export { PushTEnv, PUSHT_DEFAULTS, pushtAngleError, samplePushTState } from './pusht/env.js';
export { PUSHT, PUSHT_ANCHOR_POSE, T_BOXES } from './pusht/geometry.js';
export { pushtStep } from './pusht/physics.js';
export { ScriptedPusher, type PusherOptions } from './pusht/pusher.js';
export { sin, cos, atan, atan2, wrapAngle, mod2pi } from './trig.js';
export { RgbImage } from './render/raster.js';
export { encodePng, decodePng, type DecodedPng } from './render/png.js';
export { encodeGif } from './render/gif.js';
export { Dataset, meanStd, type DatasetParts, type GeneratorInfo, type MeanStd, type NormStats } from './dataset/dataset.js';
export { encodeDataset, decodeDataset, DATASET_FORMAT, DATASET_VERSION, type EncodeOptions } from './dataset/store.js';
export { generateDataset, DATA_DEFAULTS, POLICIES, GENERATOR_VERSION, type GenerateOptions } from './dataset/generate.js';
export { WALL_POLICIES, type WallPolicy } from './dataset/wall-policies.js';
export {
  splitEpisodes,
  windowIndex,
  getWindow,
  normalize,
  denormalize,
  sampleDatasetStartGoal,
  type Split,
  type Window,
  type WindowSpec,
  type DatasetStartGoal,
} from './dataset/load.js';
