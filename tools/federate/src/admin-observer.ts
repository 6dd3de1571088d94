import { io, type Socket } from 'socket.io-client';
import type { AdminSession, AdminToServer, FederationSnapshot, ServerToAdmin } from '@fedward/protocol';

export interface AdminObserver {
  /** The newest snapshot the server pushed (it pushes one on every change, a few a second at most). */
  latest: () => FederationSnapshot | null;
  /** Asks for a snapshot now and resolves with it: the final state, once every hospital is done. */
  fresh: () => Promise<FederationSnapshot>;
  close: () => void;
}

/**
 * The admin dashboard's own live channel (POST /api/admin/login, then the /admin socket), read
 * from Node: the same snapshots the dashboard renders, so progress, timings and the report come
 * from what an admin sees, not from a second bookkeeping.
 */
export async function observeAdmin(url: string, password: string, onSnapshot: (s: FederationSnapshot, at: number) => void): Promise<AdminObserver> {
  const res = await fetch(`${url}/api/admin/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
  if (!res.ok) throw new Error(`admin sign-in refused: ${res.status} ${await res.text()}`);
  const { session } = (await res.json()) as AdminSession;
  const socket: Socket<ServerToAdmin, AdminToServer> = io(`${url}/admin`, { auth: { session }, transports: ['websocket'] });
  let latest: FederationSnapshot | null = null;
  socket.on('snapshot', (s) => {
    latest = s;
    onSnapshot(s, Date.now());
  });
  socket.on('session-ended', ({ reason }) => console.error(`federate: the admin session ended: ${reason}`));
  // The server answers every connection with a snapshot: the first one says the channel is open.
  await new Promise<void>((resolve, reject) => {
    socket.once('snapshot', () => resolve());
    socket.once('connect_error', (e) => reject(new Error(`admin socket: ${e.message}`)));
  });
  return {
    latest: () => latest,
    fresh: () =>
      new Promise((resolve, reject) => {
        if (!latest) return reject(new Error('no snapshot yet'));
        // Watching the same study again makes the server send its snapshot, then the answer: on the
        // same socket, so by the answer `latest` is that snapshot (built after this call).
        socket.emit('watch-study', { study: latest.config.id }, (r) => (r.ok ? resolve(latest!) : reject(new Error(`watch-study: ${r.error.message}`))));
      }),
    close: () => socket.close(),
  };
}
