import { useCallback, useEffect, useRef, useState } from 'react';
import type { AuditView } from '@fedward/protocol';
import { ActionFeedback } from '../../../features/action-feedback/ActionFeedback';
import { useActionFeedback } from '../../../features/action-feedback/useActionFeedback';
import { AuditTable } from './AuditTable';
import { AuditVerificationBadge } from './AuditVerificationBadge';

const LIMIT = 200;

/**
 * The append-only audit log: loaded on demand, and again after every admin action made here
 * (`refreshKey` grows then). Export CSV saves the whole log.
 */
export function AuditLogPanel({
  refreshKey,
  controlsEnabled,
  onLoad,
  onExport,
}: {
  refreshKey: number;
  controlsEnabled: boolean;
  onLoad: (limit: number) => Promise<AuditView>;
  onExport: () => Promise<void>;
}) {
  const [view, setView] = useState<AuditView | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const exporting = useActionFeedback();
  // Only the newest request's answer is shown when loads overlap.
  const latest = useRef(0);

  const load = useCallback(async () => {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const v = await onLoad(LIMIT);
      if (mine !== latest.current) return;
      setView(v);
      setError(null);
    } catch (e) {
      if (mine === latest.current) setError(`Could not load the audit log: ${(e as Error).message}`);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  }, [onLoad]);

  useEffect(() => {
    if (refreshKey > 0) void load();
  }, [refreshKey, load]);

  return (
    <div data-testid="audit-panel" aria-busy={loading}>
      <p className="row">
        <button type="button" disabled={!controlsEnabled || loading} onClick={() => void load()}>
          {view ? 'Refresh audit log' : 'Load audit log'}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={exporting.busy}
          onClick={() => void exporting.run(onExport, () => 'The audit log was saved as a CSV file.', (m) => `Export failed: ${m}`)}
        >
          Export CSV
        </button>
        {loading && <span className="muted">Loading…</span>}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ActionFeedback feedback={exporting.feedback} testId="audit-export-feedback" />
      {view && (
        <>
          <AuditVerificationBadge verified={view.verified} />
          <AuditTable entries={view.entries} brokenAt={view.verified.ok ? null : view.verified.brokenAt} />
        </>
      )}
    </div>
  );
}
