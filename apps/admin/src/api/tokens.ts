import type { AdminSocket } from './admin-socket';
import { adminRequest } from './admin-request';

export async function createToken(socket: AdminSocket, hospital: string): Promise<string> {
  return (await adminRequest(socket, 'create-token', { hospital })).token;
}

export async function revokeToken(socket: AdminSocket, id: number): Promise<void> {
  await adminRequest(socket, 'revoke-token', { id });
}
