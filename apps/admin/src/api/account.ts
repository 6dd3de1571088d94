import type { AdminSocket } from './admin-socket';
import { adminRequest } from './admin-request';

/** Changes the admin password; the server signs every other session out. */
export async function changePassword(socket: AdminSocket, current: string, next: string): Promise<void> {
  await adminRequest(socket, 'change-password', { current, next });
}
