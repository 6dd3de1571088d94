import { describe, expect, it } from 'vitest';
import { EXPORT_FILES, HOSPITAL_EXPORT_FILES } from '@fedward/protocol';
import { offeredExports } from '../src/export-files';

describe('offeredExports', () => {
  it('offers the admin every export the server serves, each with a label and a note', () => {
    const { files, onnxNote } = offeredExports('admin', 'small-cnn');
    expect(files.map((f) => f.file).sort()).toEqual([...EXPORT_FILES].sort());
    expect(files.every((f) => f.label.length > 0 && f.note.length > 0)).toBe(true);
    expect(onnxNote).toBeNull();
  });

  it("offers a hospital only the model and its copy of the card, never the rounds CSV with other hospitals' reports", () => {
    const names = offeredExports('hospital', 'vgg-slim').files.map((f) => f.file);
    expect(names.sort()).toEqual([...HOSPITAL_EXPORT_FILES].sort());
    expect(names).not.toContain('rounds.csv');
    expect(names).not.toContain('ledger.csv');
  });

  it('leaves model.onnx out when the page does not know the model family', () => {
    for (const audience of ['admin', 'hospital'] as const) {
      const { files, onnxNote } = offeredExports(audience, undefined);
      expect(files.map((f) => f.file)).not.toContain('model.onnx');
      expect(files.map((f) => f.file)).toContain('model.json');
      expect(onnxNote).toBeNull();
    }
  });
});
