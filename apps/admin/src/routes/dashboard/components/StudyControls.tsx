import { useState } from 'react';
import type { FederationSnapshot } from '@fedward/protocol';
import type { StudyAction } from '../../../api/studies';
import { statusWords } from './StudiesPanel';

/** The study's life: start a draft, pause, resume, stop (asked twice: it cannot be undone). */
export function StudyControls({
  snapshot,
  controlsEnabled,
  onControl,
  onEdit,
}: {
  snapshot: FederationSnapshot;
  controlsEnabled: boolean;
  onControl: (action: StudyAction) => Promise<void>;
  onEdit: () => void;
}) {
  const [confirmStop, setConfirmStop] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { status, phase } = snapshot;
  const act = async (action: StudyAction) => {
    setBusy(true);
    setError(null);
    try {
      await onControl(action);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
      setConfirmStop(false);
    }
  };
  const disabled = !controlsEnabled || busy;
  const editable = status === 'draft' || (status === 'paused' && phase !== 'training' && phase !== 'aggregating');
  return (
    <div className="study-controls">
      <p>
        Status: <strong data-testid="study-status">{statusWords(status)}</strong>
        {status === 'draft' && <span className="muted"> — hospitals cannot join until you start it.</span>}
        {status === 'paused' && phase === 'training' && <span className="muted"> — the round under way finishes; no new round starts.</span>}
      </p>
      <div className="row">
        {status === 'draft' && (
          <button type="button" disabled={disabled} onClick={() => void act('start')}>
            Start study
          </button>
        )}
        {status === 'running' && (
          <button type="button" disabled={disabled} onClick={() => void act('pause')}>
            Pause
          </button>
        )}
        {status === 'paused' && (
          <button type="button" disabled={disabled} onClick={() => void act('resume')}>
            Resume
          </button>
        )}
        {status !== 'stopped' && (
          <button type="button" className="secondary" disabled={disabled || !editable} onClick={onEdit} title={editable ? undefined : 'Pause the study first'}>
            Edit settings
          </button>
        )}
        {status !== 'stopped' && !confirmStop && (
          <button type="button" className="secondary" disabled={disabled} onClick={() => setConfirmStop(true)}>
            Stop study…
          </button>
        )}
      </div>
      {confirmStop && (
        <div className="confirm" role="group" aria-label="Confirm stopping the study">
          <p>Stop this study for good? A round under way is cancelled (nothing of it is released). Its rounds, ledger and model stay available.</p>
          <div className="row">
            <button type="button" className="danger-fill" disabled={disabled} onClick={() => void act('stop')}>
              Stop the study
            </button>
            <button type="button" className="secondary" onClick={() => setConfirmStop(false)}>
              Keep it
            </button>
          </div>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
