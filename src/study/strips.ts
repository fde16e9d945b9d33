/**
 * Episode strips: for the first few episodes of a task, one PNG that shows, for the float model
 * and the lowest-bit cell of each family side by side, what the first plan did and what the model
 * imagined it would do. Each configuration is a pair of rows:
 *   real      goal | start | state after world-model step 1 .. H of the first plan   (env renders)
 *   imagined  decode(encode(goal)) | decode(encode(start)) | decoded rollout frames 1 .. H
 * The configuration's label and the episode's outcome under it ("solved at iteration k" or
 * "not solved") stand to the left. Cells write their row pairs (unlabelled PNGs) into
 * strip-rows/ as they finish; the strips are composed from those files with the report, so a
 * resumed, sharded or merged run draws the same bytes.
 */
import { decodePng, encodePng } from '../env/render/png.js';
import type { Env, StartGoal } from '../env/types.js';
import type { WorldModel } from '../nn/world-model.js';
import type { ActionNorm } from '../plan/types.js';
import type { Platform } from '../platform/types.js';
import { ShapeError, ValueError } from '../tensor/errors.js';
import { drawText, GLYPH_H, textWidth } from './font.js';
import { cellKey, cellLabel, type Cell, type Experiment } from './grid.js';
import { executedFrames, imaginedFrames, resizeNearest } from './imagination.js';
import type { CellResult } from './results.js';

/** Episodes (the first seeds) that get a strip. */
export const STRIP_EPISODES = 2;
/** Directory (inside a results directory) of the per-cell row pairs. */
export const STRIP_ROWS_DIR = 'strip-rows';

const FAMILY_ORDER: readonly Experiment[] = ['baseline', 'weight-only', 'weight-act', 'module'];

/**
 * The cells that draw strips: each task's float baseline and, per family (everything but the
 * bit widths: experiment, method, group, activation granularity, target), its lowest-bit cell
 * (fewest weight bits, then fewest activation bits). Computed from the whole grid, before sharding.
 */
export function stripCells(cells: readonly Cell[]): Set<string> {
  const best = new Map<string, Cell>();
  for (const c of cells) {
    const family = `${c.task}|${c.experiment}|${c.method}|${c.group}|${c.act}|${c.target}`;
    const b = best.get(family);
    if (!b || c.wbits < b.wbits || (c.wbits === b.wbits && c.abits < b.abits)) best.set(family, c);
  }
  return new Set([...best.values()].map(cellKey));
}

/** Relative path of a cell's row pair for episode n. */
export function stripRowFile(key: string, n: number): string {
  return `${STRIP_ROWS_DIR}/${key.replaceAll('/', '_')}.ep${String(n).padStart(3, '0')}.png`;
}

/**
 * The row pair of one configuration and episode: real frames over imagined ones, decoded frames
 * resized (nearest) to the env's image size. Returns (2·size, (H+2)·size, 3) RGB.
 * @param firstPlan (H, A) normalised actions of the first MPC iteration
 */
export function stripRow(env: Env, wm: WorldModel, ep: StartGoal, firstPlan: Float32Array, H: number, norm: ActionNorm): { rgb: Uint8Array; width: number; height: number } {
  if (firstPlan.length !== H * wm.actionDim) throw new ShapeError('stripRow', `first plan has ${firstPlan.length} values, expected H*A = ${H}*${wm.actionDim}`);
  const size = env.imageSize;
  const real = executedFrames(env, ep, firstPlan, wm.actionDim, norm);
  const imagined = imaginedFrames(env, wm, ep, firstPlan, H, norm).map((f) => resizeNearest(f, size));
  const cols = real.length;
  const width = cols * size;
  const rgb = new Uint8Array(2 * size * width * 3);
  [real, imagined].forEach((frames, r) =>
    frames.forEach((f, c) => {
      for (let y = 0; y < size; y++) rgb.set(f.subarray(y * size * 3, (y + 1) * size * 3), ((r * size + y) * width + c * size) * 3);
    }),
  );
  return { rgb, width, height: 2 * size };
}

export interface Strip {
  /** file name, e.g. strip-wall-ep000.png */
  file: string;
  task: string;
  episode: number;
  seed: number;
  /** row-pair labels, top to bottom */
  labels: string[];
  png: Uint8Array;
}

const SCALE = 2;
const PAD = 6;
const GAP = 2;
const SEP = 8;
const TEXT_H = GLYPH_H * SCALE;
const INK = [0, 0, 0] as const;
const GREY = [110, 110, 110] as const;

function outcome(r: CellResult, n: number): string {
  const e = r.metrics.episodes[n];
  if (!e) return '';
  return e.success ? `solved at iteration ${e.success_iter}` : 'not solved';
}

/**
 * Compose the strips from the row pairs found in `dirs` (later directories win) for the cells in
 * `results`: one PNG per task and episode, row pairs ordered float first, then by experiment and key.
 */
export async function composeStrips(platform: Platform, dirs: readonly string[], results: readonly CellResult[]): Promise<Strip[]> {
  const rank = (r: CellResult): number => FAMILY_ORDER.indexOf(r.cell.experiment);
  const ordered = [...results].sort((a, b) => rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const rows = new Map<string, Uint8Array>();
  for (const d of dirs) {
    if (!(await platform.exists(`${d}/${STRIP_ROWS_DIR}`))) continue;
    for (const name of await platform.readdir(`${d}/${STRIP_ROWS_DIR}`)) if (name.endsWith('.png')) rows.set(name, await platform.readFile(`${d}/${STRIP_ROWS_DIR}/${name}`));
  }
  const strips: Strip[] = [];
  const tasks = [...new Set(ordered.map((r) => r.cell.task))].sort();
  for (const task of tasks) {
    const rs = ordered.filter((r) => r.cell.task === task);
    const episodes = Math.max(0, ...rs.map((r) => r.metrics.episodes.length));
    for (let n = 0; n < Math.min(STRIP_EPISODES, episodes); n++) {
      const have = rs.flatMap((r) => {
        const bytes = rows.get(stripRowFile(r.key, n).slice(STRIP_ROWS_DIR.length + 1));
        return bytes ? [{ r, img: decodePng(bytes) }] : [];
      });
      if (have.length === 0) continue;
      const seed = have[0].r.metrics.episodes[n].seed;
      const title = `${task} episode ${n} (seed ${seed}): the first plan, real and imagined`;
      const png = drawStrip(title, have.map(({ r, img }) => ({ label: cellLabel(r.cell), note: outcome(r, n), ...img })));
      strips.push({ file: `strip-${task}-ep${String(n).padStart(3, '0')}.png`, task, episode: n, seed, labels: have.map(({ r }) => cellLabel(r.cell)), png });
    }
  }
  return strips;
}

function drawStrip(title: string, pairs: { label: string; note: string; width: number; height: number; rgb: Uint8Array }[]): Uint8Array {
  const { width: rw, height: rh } = pairs[0];
  for (const p of pairs) if (p.width !== rw || p.height !== rh) throw new ValueError('composeStrips', `row pairs differ in size: ${p.width}x${p.height} vs ${rw}x${rh} (${p.label})`);
  const size = rh / 2;
  const cols = rw / size;
  if (!Number.isInteger(size) || !Number.isInteger(cols) || cols < 2) throw new ShapeError('composeStrips', `a row pair of ${rw}x${rh} is not 2 rows of square frames`);
  const heads = ['goal', 'start', ...Array.from({ length: cols - 2 }, (_, i) => `+${i + 1}`)];
  const labelW = Math.max(...pairs.flatMap((p) => [textWidth(p.label, SCALE), textWidth(p.note, SCALE)])) + 2 * PAD;
  const tagW = textWidth('imagined', SCALE) + 2 * PAD;
  const x0 = labelW + PAD + tagW;
  const framesW = cols * size + (cols - 1) * GAP;
  const width = Math.max(x0 + framesW + PAD, textWidth(title, SCALE) + 2 * PAD);
  const headerH = PAD + TEXT_H + PAD + TEXT_H + PAD;
  const pairH = 2 * size + GAP;
  const height = headerH + pairs.length * pairH + (pairs.length - 1) * SEP + PAD;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  drawText(rgb, width, PAD, PAD, title, SCALE, INK);
  heads.forEach((h, c) => drawText(rgb, width, x0 + c * (size + GAP) + ((size - textWidth(h, SCALE)) >> 1), 2 * PAD + TEXT_H, h, SCALE, GREY));
  pairs.forEach((p, i) => {
    const y0 = headerH + i * (pairH + SEP);
    if (i > 0) for (let x = PAD; x < width - PAD; x++) for (const y of [y0 - (SEP >> 1) - 1, y0 - (SEP >> 1)]) rgb.fill(200, (y * width + x) * 3, (y * width + x) * 3 + 3);
    drawText(rgb, width, PAD, y0 + PAD, p.label, SCALE, INK);
    drawText(rgb, width, PAD, y0 + 2 * PAD + TEXT_H, p.note, SCALE, GREY);
    drawText(rgb, width, labelW + PAD, y0 + ((size - TEXT_H) >> 1), 'real', SCALE, GREY);
    drawText(rgb, width, labelW + PAD, y0 + size + GAP + ((size - TEXT_H) >> 1), 'imagined', SCALE, GREY);
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < cols; c++) {
        for (let y = 0; y < size; y++) {
          const src = ((r * size + y) * rw + c * size) * 3;
          const dst = ((y0 + r * (size + GAP) + y) * width + x0 + c * (size + GAP)) * 3;
          rgb.set(p.rgb.subarray(src, src + size * 3), dst);
        }
      }
    }
  });
  return encodePng(rgb, width, height);
}
