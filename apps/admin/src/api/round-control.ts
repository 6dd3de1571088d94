import type { AdminSocket } from './admin-socket';
import { adminRequest } from './admin-request';

/** Ends the round now: 'aggregated' when enough updates arrived, otherwise 'cancelled' (it runs again). */
export async function endRound(socket: AdminSocket, study: string, round: number): Promise<'aggregated' | 'cancelled'> {
  return (await adminRequest(socket, 'end-round', { study, round })).outcome;
}

/** Moves the round's deadline to `seconds` from now; resolves with the new deadline (ms since epoch). */
export async function setDeadline(socket: AdminSocket, study: string, round: number, seconds: number): Promise<number> {
  return (await adminRequest(socket, 'set-deadline', { study, round, seconds })).deadline;
}

/** Leaves a hospital out of rounds (`skip`), or lets it back in (which also ends a back-off). */
export async function skipHospital(socket: AdminSocket, study: string, hospital: string, skip: boolean): Promise<void> {
  await adminRequest(socket, 'skip-hospital', { study, hospital, skip });
}
