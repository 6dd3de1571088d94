import { io, type Socket } from 'socket.io-client';
import type { AdminToServer, FederationSnapshot, ServerToAdmin } from '@fedward/protocol';

export type AdminSocket = Socket<ServerToAdmin, AdminToServer>;

const KEY = 'fedward.admin-password';

/** Opens the live admin channel; resolves once the server accepted the password. */
export function connectAdmin(password: string, onSnapshot: (s: FederationSnapshot) => void): Promise<AdminSocket> {
  return new Promise((resolve, reject) => {
    const socket: AdminSocket = io('/admin', { auth: { password }, transports: ['websocket'] });
    socket.on('snapshot', onSnapshot);
    socket.once('connect', () => {
      sessionStorage.setItem(KEY, password);
      resolve(socket);
    });
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

export const savedPassword = (): string | null => sessionStorage.getItem(KEY);
export const forgetPassword = (): void => sessionStorage.removeItem(KEY);
