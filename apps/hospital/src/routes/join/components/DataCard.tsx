import { useEffect, useId, useRef } from 'react';
import { patientIdStatus, type DatasetSummary, type ImportProgress, type SampleSlice } from '@fedward/data';
import { ProgressBar } from '../../../features/progress-bar/ProgressBar';
import { splitSizes } from '../../../api/local-data';
import type { ImportReport } from '../../../api/import-report';
import { PatientIdsNotice } from './PatientIdsNotice';
import { FileProblemList } from './FileProblemList';
import { SliceThumbnails } from './SliceThumbnails';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What the patient count counts: without an id for every slice, some "patients" are single slices. */
const patientWords = (n: number, allPatients: boolean) =>
  allPatients ? (n === 1 ? 'patient' : 'patients') : n === 1 ? 'patient or single slice (see the note below)' : 'patients or single slices (see the note below)';

/**
 * Asked when a folder is picked while slices are stored: picking a folder again used to add to
 * them, so a parent folder then the right one counted a hospital twice and mixed others in.
 * The first button has the focus, so the question is answered from the keyboard too.
 */
function ReimportQuestion({ files, stored, onChoose }: { files: number; stored: number; onChoose: (choice: 'replace' | 'add' | 'cancel') => void }) {
  const headingId = useId();
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <div className="notice" role="group" aria-labelledby={headingId} data-testid="reimport-question">
      <h3 id={headingId}>Replace the stored slices or add to them?</h3>
      <p>
        This browser already stores {plural(stored, 'slice')}. The folder you picked holds {plural(files, 'file')}.
      </p>
      <ul>
        <li>
          <strong>Replace</strong>: once the new folder has loaded, only its slices are kept (until then the stored ones stay).
        </li>
        <li>
          <strong>Add</strong>: its slices are added to the stored ones. A file already stored is never stored twice (it is recognised by
          its contents, and a DICOM slice also by its SOP Instance UID, the unique id every DICOM image carries).
        </li>
      </ul>
      <div className="row">
        <button ref={first} onClick={() => onChoose('replace')}>Replace stored slices</button>
        <button onClick={() => onChoose('add')}>Add to them</button>
        <button className="link" onClick={() => onChoose('cancel')}>Cancel</button>
      </div>
    </div>
  );
}

/**
 * Says that an import was cut short (reload, closed tab, crash): its slices are part of a folder only.
 * Removing asks first when it would also remove slices of earlier imports that finished; the cut
 * import's own slices cannot be used as they are, so removing only them asks nothing.
 */
function UnfinishedImport({
  unfinished,
  stored,
  locked,
  onRemove,
}: {
  unfinished: NonNullable<DatasetSummary['unfinishedImport']>;
  stored: number;
  locked: boolean;
  onRemove: () => void;
}) {
  const earlier = stored - unfinished.slices;
  const remove = () => {
    const question =
      `Remove all ${stored} slices stored in this browser, including the ${earlier === 1 ? '1 slice' : `${earlier} slices`} from earlier imports that finished? ` +
      'This cannot be undone: to use them again, import the folder again.';
    if (earlier <= 0 || window.confirm(question)) onRemove();
  };
  return (
    <div className="notice" role="alert" data-testid="unfinished-import">
      <h3>The last import did not finish</h3>
      <p>
        It started at {new Date(unfinished.startedAt).toLocaleString()} and stopped before the end: the page was closed or reloaded, or the
        browser stopped it. {unfinished.slices} of the stored slices {unfinished.slices === 1 ? 'comes' : 'come'} from only part of that folder.
        Joining is blocked until you choose the folder again (it replaces or completes them) or remove local data.
      </p>
      <button className="danger" onClick={remove} disabled={locked}>Remove local data</button>
    </div>
  );
}

function ImportReportView({ report }: { report: ImportReport }) {
  return (
    <div data-testid="import-report" data-tone={report.tone}>
      <p className={report.tone === 'error' ? 'error' : undefined} role={report.tone === 'error' ? 'alert' : 'status'} data-testid="import-headline">
        {report.headline}
      </p>
      {report.warnings.map((w) => (
        <p key={w} className="notice" role="note">{w}</p>
      ))}
      <FileProblemList
        problems={report.problems}
        heading={`${report.problems.length} file(s) could not be imported${report.loaded ? '; the rest loaded' : ''}`}
        testId="import-problems"
        itemTestId="import-problem"
      />
      <FileProblemList
        problems={report.duplicates}
        heading={`${report.duplicates.length} file(s) already stored, so not stored again`}
        testId="import-duplicates"
        itemTestId="import-duplicate"
      />
    </div>
  );
}

export function DataCard({
  summary,
  samples,
  progress,
  report,
  pending,
  error,
  inputSize,
  locked,
  onPick,
  onChoose,
  onCancel,
  onRemove,
}: {
  summary: DatasetSummary | null;
  samples: SampleSlice[];
  progress: ImportProgress | null;
  report: ImportReport | null;
  pending: { files: File[] } | null;
  error: string | null;
  inputSize: number | null;
  locked: boolean;
  onPick: (files: File[]) => void;
  onChoose: (choice: 'replace' | 'add' | 'cancel') => void;
  onCancel: () => void;
  onRemove: () => void;
}) {
  const split = summary ? splitSizes(summary) : null;
  const allPatients = summary ? patientIdStatus(summary).patientIds === 'all' : false;
  const pickDisabled = inputSize === null || progress !== null || pending !== null || locked;
  return (
    <section className="card">
      <h2>3 · Local data</h2>
      <p className="muted">
        Pick the folder that holds your slices (DICOM or PNG; one subfolder per label, or a manifest.csv file that lists each
        file and its label). They are decoded in this browser and stay on this computer. Patient identifiers are never stored:
        only a salted hash (a scrambled code made from the id), to keep each patient's slices together. PNG slices need a{' '}
        <code>patient</code> column in manifest.csv for that.
      </p>
      <label className={`file-button ${pickDisabled ? 'disabled' : ''}`}>
        Choose folder…
        <input
          data-testid="folder-input"
          type="file"
          multiple
          disabled={pickDisabled}
          // webkitdirectory is not in React's types; every current browser supports it.
          {...({ webkitdirectory: '', directory: '' } as object)}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = '';
            // An empty folder gives no files: that is said too, not passed over in silence.
            onPick(files);
          }}
        />
      </label>
      {inputSize === null && <p className="muted">Check your enrolment token first: it tells which image size the model needs.</p>}
      {pending && summary && <ReimportQuestion files={pending.files.length} stored={summary.slices} onChoose={onChoose} />}
      {progress && (
        <div>
          <ProgressBar
            label={progress.currentFile ? `Importing ${progress.currentFile}` : 'Importing'}
            value={progress.total ? progress.processed / progress.total : null}
            detail={`${progress.processed} of ${plural(progress.total, 'file')}`}
            testId="import-progress"
          />
          <button className="link" onClick={onCancel}>Cancel import</button>
        </div>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      {report && <ImportReportView report={report} />}
      {summary?.unfinishedImport && !progress && <UnfinishedImport unfinished={summary.unfinishedImport} stored={summary.slices} locked={locked} onRemove={onRemove} />}
      {summary && split && summary.slices > 0 && (
        <div data-testid="data-summary">
          <p>
            <strong data-testid="slice-count">{summary.slices}</strong> {summary.slices === 1 ? 'slice' : 'slices'} from{' '}
            <span data-testid="patient-count">{summary.patientCount}</span> {patientWords(summary.patientCount, allPatients)} ·{' '}
            {summary.settings?.size}×{summary.settings?.size} pixels
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
            Training on <span data-testid="train-count">{split.train}</span> {split.train === 1 ? 'slice' : 'slices'}.{' '}
            <span data-testid="test-count">{split.test}</span> {split.test === 1 ? 'slice is' : 'slices are'} held out (set aside and never
            trained on) to test each new shared model. Whole patients are held out{allPatients ? '' : ' where the id is known, single slices otherwise'}.
          </p>
          <SliceThumbnails samples={samples} />
          <PatientIdsNotice summary={summary} />
          {!summary.unfinishedImport && (
            <button
              className="link danger"
              onClick={() => {
                const one = summary.slices === 1;
                const question = `Remove ${one ? 'the slice' : `all ${summary.slices} slices`} stored in this browser? This cannot be undone: to use ${one ? 'it' : 'them'} again, import the folder again.`;
                if (window.confirm(question)) onRemove();
              }}
              disabled={locked}
            >
              Remove local data
            </button>
          )}
        </div>
      )}
    </section>
  );
}
