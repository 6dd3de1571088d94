import { patientIdStatus, type DatasetSummary, type FileProblem, type ImportProgress } from '@fedward/data';
import { ProgressBar } from '../../../features/progress-bar/ProgressBar';
import { splitSizes } from '../../../api/local-data';
import { PatientIdsNotice } from './PatientIdsNotice';

export function DataCard({
  summary,
  progress,
  problems,
  error,
  inputSize,
  locked,
  onPick,
  onCancel,
  onRemove,
}: {
  summary: DatasetSummary | null;
  progress: ImportProgress | null;
  problems: FileProblem[];
  error: string | null;
  inputSize: number | null;
  locked: boolean;
  onPick: (files: File[]) => void;
  onCancel: () => void;
  onRemove: () => void;
}) {
  const split = summary ? splitSizes(summary) : null;
  const allPatients = summary ? patientIdStatus(summary).patientIds === 'all' : false;
  return (
    <section className="card">
      <h2>2 · Local data</h2>
      <p className="muted">
        Pick the folder that holds your slices (DICOM or PNG; one subfolder per label, or a manifest.csv). They are
        decoded in this browser and stay on this computer; patient identifiers are never stored (only a salted hash, to
        keep each patient's slices together). PNG slices need a <code>patient</code> column in manifest.csv for that.
      </p>
      <label className={`file-button ${inputSize === null || progress || locked ? 'disabled' : ''}`}>
        Choose folder…
        <input
          data-testid="folder-input"
          type="file"
          multiple
          disabled={inputSize === null || progress !== null || locked}
          // webkitdirectory is not in React's types; every current browser supports it.
          {...({ webkitdirectory: '', directory: '' } as object)}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = '';
            if (files.length) onPick(files);
          }}
        />
      </label>
      {inputSize === null && <p className="muted">Check your enrolment token first: it tells which image size the model needs.</p>}
      {progress && (
        <div>
          <ProgressBar
            label={progress.currentFile ? `Importing ${progress.currentFile}` : 'Importing'}
            value={progress.total ? progress.processed / progress.total : null}
            detail={`${progress.processed} / ${progress.total} files`}
            testId="import-progress"
          />
          <button className="link" onClick={onCancel}>Cancel import</button>
        </div>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      {problems.length > 0 && (
        <details className="problems" open={problems.length <= 5} data-testid="import-problems">
          <summary>{problems.length} file(s) could not be imported; the rest loaded</summary>
          <ul>
            {problems.map((p) => (
              <li key={p.file} data-testid="import-problem" data-file={p.file}>
                <code>{p.file}</code>: {p.error}
              </li>
            ))}
          </ul>
        </details>
      )}
      {summary && split && (
        <div data-testid="data-summary">
          <p>
            <strong data-testid="slice-count">{summary.slices}</strong> slices from{' '}
            <span data-testid="patient-count">{summary.patientCount}</span> {allPatients ? 'patients' : 'patients or single slices (see the note below)'} ·{' '}
            {summary.settings?.size}×{summary.settings?.size}
          </p>
          <table className="compact">
            <tbody>
              {Object.entries(summary.labels).map(([label, n]) => (
                <tr key={label}>
                  <td>{label}</td>
                  <td data-testid={`label-${label}`}>{n}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted">
            Training on <span data-testid="train-count">{split.train}</span> slices; <span data-testid="test-count">{split.test}</span>{' '}
            held out ({allPatients ? 'whole patients' : 'whole patients where the id is known, single slices otherwise'}) to measure each
            global model.
          </p>
          <PatientIdsNotice summary={summary} />
          <button className="link danger" onClick={onRemove} disabled={locked}>Remove local data</button>
        </div>
      )}
    </section>
  );
}
