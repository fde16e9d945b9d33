/**
 * A 3x5 pixel font for labels in raster images (the env renderer has no text). Upper case only:
 * lower-case letters are drawn as upper case, characters without a glyph as '?'. Each glyph is
 * five rows of three cells, '#' = ink, drawn at an integer scale with one blank column between
 * glyphs, so a string of n characters is (4n - 1)·scale pixels wide and 5·scale high.
 */
const GLYPHS: Record<string, string> = {
  A: '.#.|#.#|###|#.#|#.#', B: '##.|#.#|##.|#.#|##.', C: '.##|#..|#..|#..|.##', D: '##.|#.#|#.#|#.#|##.',
  E: '###|#..|##.|#..|###', F: '###|#..|##.|#..|#..', G: '.##|#..|#.#|#.#|.##', H: '#.#|#.#|###|#.#|#.#',
  I: '###|.#.|.#.|.#.|###', J: '..#|..#|..#|#.#|.#.', K: '#.#|#.#|##.|#.#|#.#', L: '#..|#..|#..|#..|###',
  M: '#.#|###|###|#.#|#.#', N: '##.|#.#|#.#|#.#|#.#', O: '.#.|#.#|#.#|#.#|.#.', P: '##.|#.#|##.|#..|#..',
  Q: '.#.|#.#|#.#|###|.##', R: '##.|#.#|##.|#.#|#.#', S: '.##|#..|.#.|..#|##.', T: '###|.#.|.#.|.#.|.#.',
  U: '#.#|#.#|#.#|#.#|###', V: '#.#|#.#|#.#|#.#|.#.', W: '#.#|#.#|###|###|#.#', X: '#.#|#.#|.#.|#.#|#.#',
  Y: '#.#|#.#|.#.|.#.|.#.', Z: '###|..#|.#.|#..|###',
  '0': '###|#.#|#.#|#.#|###', '1': '.#.|##.|.#.|.#.|###', '2': '##.|..#|.#.|#..|###', '3': '##.|..#|.#.|..#|##.',
  '4': '#.#|#.#|###|..#|..#', '5': '###|#..|##.|..#|##.', '6': '.##|#..|###|#.#|###', '7': '###|..#|.#.|.#.|.#.',
  '8': '###|#.#|###|#.#|###', '9': '###|#.#|###|..#|##.',
  ' ': '...|...|...|...|...', '-': '...|...|###|...|...', '+': '...|.#.|###|.#.|...', '=': '...|###|...|###|...',
  '.': '...|...|...|...|.#.', ':': '...|.#.|...|.#.|...', '/': '..#|..#|.#.|#..|#..', '(': '.#.|#..|#..|#..|.#.',
  ')': '.#.|..#|..#|..#|.#.', '#': '#.#|###|#.#|###|#.#', '?': '###|..#|.#.|...|.#.', ',': '...|...|...|.#.|#..',
};

export const GLYPH_W = 3;
export const GLYPH_H = 5;

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_W + 1) - 1) * scale;
}

/**
 * Draw `text` into an RGB image with its top-left corner at (x, y); pixels outside are clipped.
 * @param rgb (height, width, 3) uint8, written in place
 */
export function drawText(rgb: Uint8Array, width: number, x: number, y: number, text: string, scale: number, color: readonly [number, number, number]): void {
  const height = rgb.length / (3 * width);
  let cx = x;
  for (const ch of text.toUpperCase()) {
    const rows = (GLYPHS[ch] ?? GLYPHS['?']).split('|');
    for (let gy = 0; gy < GLYPH_H; gy++) {
      for (let gx = 0; gx < GLYPH_W; gx++) {
        if (rows[gy][gx] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + gy * scale + dy;
          if (py < 0 || py >= height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = cx + gx * scale + dx;
            if (px < 0 || px >= width) continue;
            const o = (py * width + px) * 3;
            rgb[o] = color[0];
            rgb[o + 1] = color[1];
            rgb[o + 2] = color[2];
          }
        }
      }
    }
    cx += (GLYPH_W + 1) * scale;
  }
}
