import type { AuditView } from '@fedward/protocol';
import type { AdminSocket } from './admin-socket';
import { adminRequest } from './admin-request';
import { downloadWithBearer } from '@fedward/ui/download';

export async function loadAuditLog(socket: AdminSocket, limit: number): Promise<AuditView> {
  const { entries, verified } = await adminRequest(socket, 'audit-log', { limit });
  return { entries, verified };
}

/** Fetches GET /api/admin/audit.csv with the session and saves it. */
export function downloadAuditCsv(session: string, now = new Date()): Promise<void> {
  return downloadWithBearer(session, '/api/admin/audit.csv', `fedward-audit-${now.toISOString().slice(0, 10)}.csv`);
}
