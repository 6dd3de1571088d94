import type { SampleSlice } from '@fedward/data';
import type { ImportedSlicesState } from '../hooks/useImportedSlices';
import { SliceCanvas } from './SliceCanvas';

/** The imported slices, as buttons: the one tried last is pressed. */
function ImportedSlices({ state, inputSize, chosen, onChoose }: { state: ImportedSlicesState; inputSize: number; chosen: number | null; onChoose: (slice: SampleSlice, index: number) => void }) {
  if (state.loading) return <p className="muted">Reading your imported slices…</p>;
  if (state.error)
    return (
      <p className="error" role="alert">
        {state.error}
      </p>
    );
  if (state.slices.length === 0) return <p className="muted">No slices are imported in this browser: pick a file above.</p>;
  if (state.size !== inputSize)
    return (
      <p className="muted" data-testid="imported-size-mismatch">
        Your imported slices are {state.size}×{state.size} pixels, but this model takes {inputSize}×{inputSize} pixels. To try them, import your folder again
        at the study’s size, or pick a file above.
      </p>
    );
  return (
    <ul className="try-slices">
      {state.slices.map((slice, i) => (
        <li key={i}>
          <button type="button" className="try-slice" aria-pressed={chosen === i} data-testid="imported-slice" data-label={slice.label} onClick={() => onChoose(slice, i)}>
            <SliceCanvas pixels={slice.pixels} size={slice.size} />
            Imported slice {i + 1} · {slice.label}
          </button>
        </li>
      ))}
    </ul>
  );
}

/** A slice file to try (DICOM with or without .dcm, or PNG), or one of the imported slices. */
export function SlicePicker({
  imported,
  inputSize,
  chosen,
  onFile,
  onImported,
}: {
  imported: ImportedSlicesState;
  inputSize: number;
  /** The imported slice tried last, if the last one was imported. */
  chosen: number | null;
  onFile: (file: File) => void;
  onImported: (slice: SampleSlice, index: number) => void;
}) {
  return (
    <section className="card" aria-labelledby="try-pick-heading">
      <h2 id="try-pick-heading">Pick a slice</h2>
      <label htmlFor="try-file">Slice to try</label>{' '}
      <input
        id="try-file"
        type="file"
        aria-describedby="try-file-hint"
        // No `accept`: DICOM files often have no extension, and a filter would hide them in the picker.
        onChange={(e) => {
          const file = e.target.files?.[0];
          // Cleared, so that picking the same file again tries it again.
          e.target.value = '';
          if (file) onFile(file);
        }}
      />
      <p id="try-file-hint" className="muted">
        A DICOM file (.dcm, or a file without extension) or a PNG. It is read in this browser, windowed and resized to {inputSize}×{inputSize} pixels exactly as an
        import would, and never stored or sent.
      </p>
      <h3>Or one of your imported slices</h3>
      <ImportedSlices state={imported} inputSize={inputSize} chosen={chosen} onChoose={onImported} />
    </section>
  );
}
