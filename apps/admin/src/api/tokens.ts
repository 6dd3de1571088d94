import type { AdminSocket } from './admin-socket';
import { adminRequest } from './admin-request';

/** A new token for `hospital`, enrolled in `study` (a hospital's tokens open all its studies). */
export async function createToken(socket: AdminSocket, study: string, hospital: string): Promise<string> {
  return (await adminRequest(socket, 'create-token', { study, hospital })).token;
}

export async function revokeToken(socket: AdminSocket, id: number): Promise<void> {
  await adminRequest(socket, 'revoke-token', { id });
}
