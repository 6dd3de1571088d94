import { useState } from 'react';
import type { ExportName } from '@fedward/protocol';
import type { OfferedFile } from './export-files';

/**
 * The take-home files as a list of buttons, one per file, with what each holds; a failed download
 * shows its message (named by `failure`) in an alert and leaves the others usable.
 */
export function ExportFileList({
  files,
  disabled,
  save,
  failure,
}: {
  files: OfferedFile[];
  disabled: boolean;
  save: (file: ExportName) => Promise<void>;
  failure: (file: ExportName, message: string) => string;
}) {
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <ul>
        {files.map((f) => (
          <li key={f.file}>
            <button
              type="button"
              className="link"
              disabled={disabled}
              onClick={() => {
                setError(null);
                save(f.file).catch((e: Error) => setError(failure(f.file, e.message)));
              }}
            >
              {f.label}
            </button>{' '}
            <span className="muted small">({f.note})</span>
          </li>
        ))}
      </ul>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}
