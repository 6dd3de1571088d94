import type { AuditView } from '@fedward/protocol';

/** Whether the audit log's hash chain held, in words an admin acts on. */
export function AuditVerificationBadge({ verified }: { verified: AuditView['verified'] }) {
  if (verified.ok) {
    return (
      <p className="badge badge-ok" data-testid="audit-verified">
        Chain verified: {verified.entries} {verified.entries === 1 ? 'entry' : 'entries'}
      </p>
    );
  }
  return (
    <p className="badge badge-alert" role="alert" data-testid="audit-tampered">
      TAMPERED at entry #{verified.brokenAt}: that entry or the one before it was changed after it was written, so the log from there on cannot be
      trusted. Keep the server’s database as it is and export the CSV for investigation.
    </p>
  );
}
