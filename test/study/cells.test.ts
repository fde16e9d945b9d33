import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadWorldModel } from '../../src/nn/model-file.js';
import { cellGroupLayout } from '../../src/study/cells.js';
import type { Cell } from '../../src/study/grid.js';

const wall = loadWorldModel(new Uint8Array(readFileSync('weights/wall.qwm'))).model;
const cell = (group: number): Cell => ({ task: 'wall', experiment: 'weight-only', method: 'rtn', wbits: 4, abits: 16, group, act: null, target: 'both' });

describe('cellGroupLayout', () => {
  it("keeps QuantWM's flat groups where G divides every weight, else row-aligned (fc1 336 x 84 is 220.5 groups of 128)", () => {
    const sizes = wall.linears().map(({ linear }) => linear.weight.size);
    expect(sizes.every((n) => n % 32 === 0)).toBe(true);
    expect(sizes.some((n) => n % 128 !== 0)).toBe(true);
    expect(cellGroupLayout(wall, cell(32), 'flat')).toBe('flat');
    expect(cellGroupLayout(wall, cell(128), 'flat')).toBe('row-aligned');
    expect(cellGroupLayout(wall, cell(-1), 'flat')).toBe('flat');
    expect(cellGroupLayout(wall, cell(32), 'row-aligned')).toBe('row-aligned');
  });
});
