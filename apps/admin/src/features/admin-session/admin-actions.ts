import type { AdminSession, AuditView, StudySettings } from '@fedward/protocol';
import { changePassword } from '../../api/account';
import type { AdminChannel, AdminSocket } from '../../api/admin-socket';
import { downloadAuditCsv, loadAuditLog } from '../../api/audit';
import { fetchGlobalModel, type GlobalModel } from '../../api/global-model';
import { DownloadError, downloadWithBearer } from '@fedward/ui/download';
import { endRound, setDeadline, skipHospital } from '../../api/round-control';
import { controlStudy, createStudy, enrolHospital, updateStudy, type StudyAction } from '../../api/studies';
import { createToken, revokeToken } from '../../api/tokens';

/** Everything the dashboard can ask of the server. Round, hospital and token actions act on the study shown. */
export interface AdminActions {
  watchStudy: (study: string) => void;
  createStudy: (settings: StudySettings) => Promise<{ id: string; calibrated: { noiseMultiplier: number } | null }>;
  updateStudy: (settings: StudySettings) => Promise<{ calibrated: { noiseMultiplier: number } | null }>;
  controlStudy: (action: StudyAction) => Promise<void>;
  enrolHospital: (hospital: string, enrolled: boolean) => Promise<void>;
  createToken: (hospital: string) => Promise<string>;
  revokeToken: (id: number) => Promise<void>;
  endRound: (round: number) => Promise<'aggregated' | 'cancelled'>;
  setDeadline: (round: number, seconds: number) => Promise<number>;
  skipHospital: (hospital: string, skip: boolean) => Promise<void>;
  changePassword: (current: string, next: string) => Promise<void>;
  loadAuditLog: (limit: number) => Promise<AuditView>;
  exportAuditCsv: () => Promise<void>;
  /** Downloads one of the shown study's exports (model.json, weights.bin, …). */
  exportStudyFile: (file: string) => Promise<void>;
  /** The study's released global model (the take-home files), for the Audit view's simulated hospital. */
  loadGlobalModel: (study: string) => Promise<GlobalModel>;
}

export interface ActionHooks {
  /** After each state-changing action was answered, whatever the answer (the audit panel reloads). */
  afterAction: () => void;
  /** The server refused the session (CSV export). */
  onSessionEnded: (reason: string) => void;
  /** The password was changed: the server is about to end every session, this one included. */
  onPasswordChanged: () => void;
}

/** Binds the actions to the open channel; `study` says which study the page shows. */
export function bindAdminActions(channel: AdminChannel, session: AdminSession, hooks: ActionHooks, study: () => string): AdminActions {
  const { afterAction, onSessionEnded, onPasswordChanged } = hooks;
  const { socket } = channel;
  /** A download the server refused because the session ended signs this tab out. */
  const withSession = async <T>(download: () => Promise<T>): Promise<T> => {
    try {
      return await download();
    } catch (e) {
      if (e instanceof DownloadError && e.sessionEnded) onSessionEnded(e.message);
      throw e;
    }
  };
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
    watchStudy: channel.watch,
    createStudy: audited((s, settings: StudySettings) => createStudy(s, settings)),
    updateStudy: audited((s, settings: StudySettings) => updateStudy(s, study(), settings)),
    controlStudy: audited((s, action: StudyAction) => controlStudy(s, study(), action)),
    enrolHospital: audited((s, hospital: string, enrolled: boolean) => enrolHospital(s, study(), hospital, enrolled)),
    createToken: audited((s, hospital: string) => createToken(s, study(), hospital)),
    revokeToken: audited(revokeToken),
    endRound: audited((s, round: number) => endRound(s, study(), round)),
    setDeadline: audited((s, round: number, seconds: number) => setDeadline(s, study(), round, seconds)),
    skipHospital: audited((s, hospital: string, skip: boolean) => skipHospital(s, study(), hospital, skip)),
    changePassword: audited(async (s, current: string, next: string) => {
      await changePassword(s, current, next);
      onPasswordChanged();
    }),
    loadAuditLog: (limit) => loadAuditLog(socket, limit),
    exportAuditCsv: () => withSession(() => downloadAuditCsv(session.session)),
    exportStudyFile: (file: string) => withSession(() => downloadWithBearer(session.session, `/api/admin/studies/${study()}/${file}`, `${study()}-${file}`)),
    loadGlobalModel: (id: string) => withSession(() => fetchGlobalModel(session.session, id)),
  };
}
