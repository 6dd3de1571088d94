import type { AdminSession, AuditView } from '@fedward/protocol';
import { changePassword } from '../../api/account';
import type { AdminSocket } from '../../api/admin-socket';
import { AuditExportError, downloadAuditCsv, loadAuditLog } from '../../api/audit';
import { endRound, setDeadline, skipHospital } from '../../api/round-control';
import { createToken, revokeToken } from '../../api/tokens';

/** Everything the dashboard can ask of the server. */
export interface AdminActions {
  createToken: (hospital: string) => Promise<string>;
  revokeToken: (id: number) => Promise<void>;
  endRound: (round: number) => Promise<'aggregated' | 'cancelled'>;
  setDeadline: (round: number, seconds: number) => Promise<number>;
  skipHospital: (hospital: string, skip: boolean) => Promise<void>;
  changePassword: (current: string, next: string) => Promise<void>;
  loadAuditLog: (limit: number) => Promise<AuditView>;
  exportAuditCsv: () => Promise<void>;
}

export interface ActionHooks {
  /** After each state-changing action was answered, whatever the answer (the audit panel reloads). */
  afterAction: () => void;
  /** The server refused the session (CSV export). */
  onSessionEnded: (reason: string) => void;
  /** The password was changed: the server is about to end every session, this one included. */
  onPasswordChanged: () => void;
}

/** Binds the actions to the open socket. */
export function bindAdminActions(socket: AdminSocket, session: AdminSession, hooks: ActionHooks): AdminActions {
  const { afterAction, onSessionEnded, onPasswordChanged } = hooks;
  const audited =
    <A extends unknown[], R>(action: (socket: AdminSocket, ...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await action(socket, ...args);
      } finally {
        afterAction();
      }
    };
  return {
    createToken: audited(createToken),
    revokeToken: audited(revokeToken),
    endRound: audited(endRound),
    setDeadline: audited(setDeadline),
    skipHospital: audited(skipHospital),
    changePassword: audited(async (s, current: string, next: string) => {
      await changePassword(s, current, next);
      onPasswordChanged();
    }),
    loadAuditLog: (limit) => loadAuditLog(socket, limit),
    exportAuditCsv: async () => {
      try {
        await downloadAuditCsv(session.session);
      } catch (e) {
        if (e instanceof AuditExportError && e.sessionEnded) onSessionEnded(e.message);
        throw e;
      }
    },
  };
}
