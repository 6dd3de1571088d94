import { io, type Socket } from 'socket.io-client';
import type { AdminToServer, FederationSnapshot, ServerToAdmin, StudySummary } from '@fedward/protocol';

export type AdminSocket = Socket<ServerToAdmin, AdminToServer>;

/** How the admin socket signs in: the session from POST /api/admin/login (never the password). */
export type AdminCredential = { session: string };

/** Where the live channel stands; `since` is when it got there (ms since epoch). */
export type ConnectionState =
  | { kind: 'live'; since: number }
  | { kind: 'reconnecting'; since: number }
  | { kind: 'offline'; since: number };

export interface AdminChannelEvents {
  onSnapshot: (s: FederationSnapshot) => void;
  /** Every study on the server, and the hospitals that hold tokens. */
  onStudies: (s: { studies: StudySummary[]; hospitals: string[] }) => void;
  onConnection: (state: ConnectionState) => void;
  /** The server no longer accepts this sign-in (expired, password changed, …): sign in again. */
  onEnded: (reason: string) => void;
}

/** The open channel; `close` signs this tab out of it for good. */
export interface AdminChannel {
  socket: AdminSocket;
  close: () => void;
  /** Show this study; kept across reconnects (the server starts each connection on its first study). */
  watch: (study: string) => void;
}

/** A refused or failed first connection; `refused` when the server turned the credential down. */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
  }
}

/**
 * Opens the live admin channel and resolves once the server accepted the credential.
 * Afterwards socket.io reconnects by itself; the server answers every (re)connection with a
 * fresh snapshot, so the dashboard resyncs without asking.
 */
export function openAdminChannel(credential: AdminCredential, events: AdminChannelEvents): Promise<AdminChannel> {
  return new Promise((resolve, reject) => {
    const socket: AdminSocket = io('/admin', { auth: credential, transports: ['websocket'] });
    let opened = false;
    let ended = false;
    let state: ConnectionState | null = null;
    let watching: string | null = null;
    const watch = (study: string) => {
      watching = study;
      if (socket.connected) socket.emit('watch-study', { study }, () => {});
    };
    const set = (kind: ConnectionState['kind']) => {
      if (state?.kind === kind) return;
      const next: ConnectionState = { kind, since: Date.now() };
      state = next;
      events.onConnection(next);
    };
    const close = () => {
      ended = true;
      window.removeEventListener('offline', wentOffline);
      window.removeEventListener('online', cameOnline);
      socket.close();
    };
    const end = (reason: string) => {
      if (ended) return;
      close();
      events.onEnded(reason);
    };
    const wentOffline = () => {
      if (!socket.connected) set('offline');
    };
    const cameOnline = () => {
      if (socket.connected) return;
      set('reconnecting');
      if (!socket.active) socket.connect();
    };

    // A snapshot of another study than the one asked for (the server's default right after a
    // reconnect) is not shown: the watch-study sent on connect brings the right one.
    socket.on('snapshot', (s) => (watching === null || s.config.id === watching) && events.onSnapshot(s));
    socket.on('studies', events.onStudies);
    socket.on('session-ended', ({ reason }) => end(reason));
    socket.on('connect', () => {
      set('live');
      if (watching) socket.emit('watch-study', { study: watching }, () => {});
      if (opened) return;
      opened = true;
      window.addEventListener('offline', wentOffline);
      window.addEventListener('online', cameOnline);
      resolve({ socket, close, watch });
    });
    socket.on('connect_error', (err) => {
      // socket.active is false when the server's middleware refused the credential; true when
      // only the transport failed and socket.io keeps retrying.
      if (!opened) {
        socket.close();
        reject(new ConnectError(err.message, !socket.active));
        return;
      }
      if (!socket.active) end(err.message);
      else set(navigator.onLine ? 'reconnecting' : 'offline');
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') return;
      set(navigator.onLine ? 'reconnecting' : 'offline');
      // The server closed the connection itself (socket.io does not retry then): connect again,
      // which checks the credential anew and either resyncs or ends the session.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.io.on('reconnect_failed', () => set('offline'));
  });
}
