/** The inspect-dicom command: one JSON object per line per file, same decoder as the browser. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusFile, referencePixels } from './corpus';

describe('inspect-dicom', () => {
  it('prints rows, cols, transfer syntax and rescaled min/max/mean, or the error', () => {
    const good = corpusFile('pydicom/CT_small.dcm');
    const j2k = corpusFile('pydicom/MR_small_jp2klossless.dcm');
    const bad = corpusFile('pydicom/rtplan.dcm');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'bin', 'inspect-dicom.ts'), good, j2k, bad], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1); // one file failed
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    const ref = referencePixels([good]).get(good);
    const values = ref?.values ?? [];
    expect(lines[0]).toEqual({
      file: good,
      ok: true,
      rows: 128,
      cols: 128,
      transferSyntax: '1.2.840.10008.1.2.1',
      min: Math.min(...values),
      max: Math.max(...values),
      mean: expect.closeTo(values.reduce((a, b) => a + b, 0) / values.length, 9) as unknown as number,
    });
    expect(Object.keys(lines[1] ?? {})).toEqual(['file', 'ok', 'rows', 'cols', 'transferSyntax', 'min', 'max', 'mean']);
    expect(lines[2]).toEqual({ file: bad, ok: false, error: expect.stringMatching(/no pixel data/) as unknown as string });
  });
});
