import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '../../src/env/render/png.js';
import { summarize } from '../../src/plan/evaluator.js';
import type { EpisodeResult } from '../../src/plan/mpc.js';
import { nodePlatform } from '../../src/platform/node.js';
import { drawText, textWidth } from '../../src/study/font.js';
import { cellKey, paperGrid, quickGrid, type Cell } from '../../src/study/grid.js';
import type { CellResult } from '../../src/study/results.js';
import { composeStrips, STRIP_ROWS_DIR, stripCells, stripRowFile } from '../../src/study/strips.js';
import { ValueError } from '../../src/tensor/errors.js';

const fp: Cell = { task: 'wall', experiment: 'baseline', method: 'fp', wbits: 16, abits: 16, group: -1, act: null, target: 'both' };
const w3: Cell = { ...fp, experiment: 'weight-only', method: 'rtn', wbits: 3 };

function result(cell: Cell, wins: boolean[]): CellResult {
  const eps: EpisodeResult[] = wins.map((ok) => ({ success: ok, successIter: ok ? 2 : 0, successByIter: [false, ok], finalState: new Float64Array(2), finalStateDist: 0, visualDist: 0, proprioDist: 0, divVisual: 0, divProprio: 0, planLoss: [[1]], actions: new Float32Array(0) }));
  return { key: cellKey(cell), cell, settings: { cem: { horizon: 1 } }, metrics: summarize(eps, eps.map((_, i) => 99 * i + 1), 2), model_bytes: 1 };
}

/** A row pair of 3 frames of 4x4 px (goal, start, +1) filled with one colour. */
function rowPng(v: number, size = 4): Uint8Array {
  return encodePng(new Uint8Array(2 * size * 3 * size * 3).fill(v), 3 * size, 2 * size);
}

describe('episode strips', () => {
  it('strip cells: the float baseline and the lowest-bit cell of each family (fewest weight bits, then activation bits)', () => {
    const quick = stripCells(quickGrid('wall', 32));
    expect([...quick].sort()).toEqual(
      ['wall/baseline/fp/w16pc/a16/both', 'wall/weight-only/rtn/w3pc/a16/both', 'wall/weight-only/rtn/w3g32/a16/both', 'wall/weight-act/rtn/w4pc/a8-per-tensor/both', 'wall/weight-act/rtn/w4pc/a8-per-token/both', 'wall/module/rtn/w3pc/a16/encoder', 'wall/module/rtn/w3pc/a16/predictor'].sort(),
    );
    // paper grid, one task: 1 float + 4 weight-only methods x 3 groups + 4 weight-act methods x 2 granularities + 2 module targets
    const paper = stripCells(paperGrid({ tasks: ['wall'], groups: [-1, 128, 32] }));
    expect(paper.size).toBe(1 + 12 + 8 + 2);
    // W4A8 and W4A4 tie on weight bits: the 4-bit activations win
    expect(paper.has('wall/weight-act/omse/w4pc/a4-per-token/both')).toBe(true);
    expect(paper.has('wall/weight-act/omse/w4pc/a8-per-token/both')).toBe(false);
  });

  it('3x5 font: (4n-1)*scale wide, ink only inside the box, clipped at the image edge', () => {
    expect(textWidth('', 2)).toBe(0);
    expect(textWidth('W4', 2)).toBe(14);
    const W = 20;
    const img = new Uint8Array(W * 12 * 3).fill(255);
    drawText(img, W, 1, 1, 'w4', 2, [0, 0, 0]);
    let ink = 0;
    for (let i = 0; i < W * 12; i++) {
      if (img[3 * i] !== 0) continue;
      ink++;
      const [x, y] = [i % W, Math.floor(i / W)];
      expect(x >= 1 && x < 15 && y >= 1 && y < 11).toBe(true);
    }
    // 'W' has 12 ink cells and '4' 9 (see GLYPHS), each a 2x2 block
    expect(ink).toBe((12 + 9) * 4);
    const clipped = new Uint8Array(4 * 4 * 3).fill(255);
    expect(() => drawText(clipped, 4, -3, 2, 'ab?~', 3, [0, 0, 0])).not.toThrow();
  });

  it('composes one PNG per episode from the rows found, float first, later directories winning; rejects mismatched rows', async () => {
    const a = mkdtempSync(join(tmpdir(), 'qwm-strips-'));
    const b = mkdtempSync(join(tmpdir(), 'qwm-strips-'));
    for (const d of [a, b]) mkdirSync(join(d, STRIP_ROWS_DIR));
    const rs = [result(w3, [false, false, false]), result(fp, [true, false, false])];
    writeFileSync(join(a, stripRowFile(rs[0].key, 0)), rowPng(10));
    writeFileSync(join(a, stripRowFile(rs[1].key, 0)), rowPng(20));
    writeFileSync(join(b, stripRowFile(rs[1].key, 0)), rowPng(30)); // wins over a's
    writeFileSync(join(a, stripRowFile(rs[1].key, 1)), rowPng(40));
    writeFileSync(join(a, stripRowFile(rs[1].key, 2)), rowPng(50)); // beyond STRIP_EPISODES: ignored
    const strips = await composeStrips(nodePlatform, [a, b], rs);
    expect(strips.map((x) => [x.file, x.seed, x.labels])).toEqual([
      ['strip-wall-ep000.png', 1, ['fp', 'rtn W3']],
      ['strip-wall-ep001.png', 100, ['fp']],
    ]);
    const img = decodePng(strips[0].png);
    const colours = new Set(Array.from({ length: img.width * img.height }, (_, i) => img.rgb[3 * i]));
    expect(colours.has(30) && colours.has(10)).toBe(true);
    expect(colours.has(20)).toBe(false);
    expect(await composeStrips(nodePlatform, [mkdtempSync(join(tmpdir(), 'qwm-strips-'))], rs)).toEqual([]);
    writeFileSync(join(b, stripRowFile(rs[0].key, 0)), rowPng(10, 5));
    await expect(composeStrips(nodePlatform, [a, b], rs)).rejects.toThrow(ValueError);
  });
});
