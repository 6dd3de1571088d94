import type { AuditView } from '@fedward/protocol';
import type { AdminSocket } from './admin-socket';
import { adminRequest } from './admin-request';

export async function loadAuditLog(socket: AdminSocket, limit: number): Promise<AuditView> {
  const { entries, verified } = await adminRequest(socket, 'audit-log', { limit });
  return { entries, verified };
}

/** A failed CSV export; `sessionEnded` when the server no longer accepts the session. */
export class AuditExportError extends Error {
  constructor(
    message: string,
    readonly sessionEnded: boolean,
  ) {
    super(message);
  }
}

/** Fetches GET /api/admin/audit.csv with the session and saves it through an `<a download>`. */
export async function downloadAuditCsv(session: string, now = new Date()): Promise<void> {
  let res: Response;
  try {
    res = await fetch('/api/admin/audit.csv', { headers: { authorization: `Bearer ${session}` }, cache: 'no-store' });
  } catch (e) {
    throw new AuditExportError(`cannot reach the server (${(e as Error).message})`, false);
  }
  if (res.status === 401 || res.status === 403) throw new AuditExportError('the server no longer accepts this session', true);
  if (!res.ok) throw new AuditExportError(`the server answered HTTP ${res.status}`, false);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = `fedward-audit-${now.toISOString().slice(0, 10)}.csv`;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    // The click has started the download; the object URL is not needed after this task.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
