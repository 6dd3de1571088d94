import type { AdminSocket } from './admin-socket';

export function createToken(socket: AdminSocket, hospital: string): Promise<string> {
  return new Promise((resolve, reject) =>
    socket.emit('create-token', { hospital }, (r) => (r.ok ? resolve(r.token) : reject(new Error(r.error.message)))),
  );
}

export function revokeToken(socket: AdminSocket, id: number): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.emit('revoke-token', { id }, (r) => (r.ok ? resolve() : reject(new Error(r.error.message)))),
  );
}
