import type { Command } from './run.js';
import { convertCommand } from './cmd-convert.js';
import { dataGenCommand } from './cmd-data.js';
import { dataMineCommand } from './cmd-mine.js';
import { envRenderCommand, envReplayCommand } from './cmd-env.js';
import { inspectCommand } from './cmd-inspect.js';
import { planCommand } from './cmd-plan.js';
import { quantizeCommand } from './cmd-quantize.js';
import { serveCommand } from './cmd-serve.js';
import { studyCommand, studyMergeCommand } from './cmd-study.js';
import { trainCommand } from './cmd-train.js';

/** Every subcommand, in the order `quantwm --help` lists them. Each lives in its own file. */
export const COMMANDS: Command[] = [studyCommand, studyMergeCommand, trainCommand, quantizeCommand, planCommand, inspectCommand, convertCommand, dataGenCommand, dataMineCommand, envRenderCommand, envReplayCommand, serveCommand];
