/** PNG decoding against PNGs written by an independent encoder (Pillow, Debian's python3-pil). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, decodePng } from '../src/index';

// Pillow writes the images and prints the samples it wrote (scaled by the bit depth).
const WRITER = `
import json, sys
import numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.default_rng(7)
g8 = rng.integers(0, 256, (5, 7), dtype=np.uint8)
g16 = rng.integers(0, 65536, (6, 4), dtype=np.uint16)
rgb = rng.integers(0, 256, (3, 5, 3), dtype=np.uint8)
Image.fromarray(g8, mode="L").save(out + "/g8.png")
Image.fromarray(g16.astype(np.uint16), mode="I;16").save(out + "/g16.png")
Image.fromarray(rgb, mode="RGB").save(out + "/rgb.png")
Image.fromarray(np.dstack([rgb, np.full((3, 5), 128, np.uint8)]), mode="RGBA").save(out + "/rgba.png")
print(json.dumps({
  "g8": (g8 / 255).ravel().tolist(), "g16": (g16 / 65535).ravel().tolist(), "rgb": (rgb / 255).ravel().tolist(),
}))
`;

let dir: string;
let expected: Record<'g8' | 'g16' | 'rgb', number[]>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedward-png-'));
  try {
    expected = JSON.parse(execFileSync('/usr/bin/python3', ['-c', WRITER, dir], { encoding: 'utf8' })) as typeof expected;
  } catch (error) {
    throw new Error(`Pillow/numpy via /usr/bin/python3 are needed: run \`bash packages/data/scripts/fetch-dicom-corpus.sh\` (${(error as Error).message})`);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
const close = (a: ArrayLike<number>, b: number[]): void => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs((a[i] ?? NaN) - (b[i] ?? NaN))).toBeLessThan(1e-6);
};

describe('decodePng', () => {
  it('8-bit grayscale', () => {
    const png = decodePng(read('g8.png'), 'g8.png');
    expect([png.width, png.height, png.bitDepth, png.channels]).toEqual([7, 5, 8, 1]);
    close(png.values, expected.g8);
  });
  it('16-bit grayscale keeps all 16 bits', () => {
    const png = decodePng(read('g16.png'), 'g16.png');
    expect([png.width, png.height, png.bitDepth, png.channels]).toEqual([4, 6, 16, 1]);
    close(png.values, expected.g16);
  });
  it('RGB, and RGBA with the alpha dropped', () => {
    const rgb = decodePng(read('rgb.png'), 'rgb.png');
    expect([rgb.width, rgb.height, rgb.channels]).toEqual([5, 3, 3]);
    close(rgb.values, expected.rgb);
    close(decodePng(read('rgba.png'), 'rgba.png').values, expected.rgb);
  });
  it('a truncated PNG is a per-file error', () => {
    const bytes = read('g16.png');
    expect(() => decodePng(bytes.subarray(0, 40), 'cut.png')).toThrow(DataError);
    expect(() => decodePng(new Uint8Array([1, 2, 3]), 'x.png')).toThrow(/not a PNG/);
  });
});
