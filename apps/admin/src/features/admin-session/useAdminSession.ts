import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { AdminSession, FederationSnapshot, StudySummary } from '@fedward/protocol';
import { forgetSession, forgetStoredPassword, LoginError, requestSession, saveSession, savedSession } from '../../api/admin-login';
import { ConnectError, openAdminChannel, type AdminChannel, type ConnectionState } from '../../api/admin-socket';
import { bindAdminActions, type AdminActions } from './admin-actions';

export type SignInState =
  | { kind: 'signed-out'; message: string | null }
  | { kind: 'connecting'; resuming: boolean }
  | { kind: 'signed-in'; channel: AdminChannel; session: AdminSession };

/** The latest snapshot and when it arrived here (ms since epoch). */
export interface ReceivedSnapshot {
  data: FederationSnapshot;
  at: number;
}

function initialState(): SignInState {
  forgetStoredPassword();
  const saved = savedSession();
  if (saved && 'session' in saved) return { kind: 'connecting', resuming: true };
  return { kind: 'signed-out', message: saved ? 'Your session expired: sign in again.' : null };
}

/**
 * Sign-in, the live channel and its state. Only the session from POST /api/admin/login is kept
 * (sessionStorage); the password is sent once and forgotten.
 */
export function useAdminSession() {
  const [state, setState] = useState<SignInState>(initialState);
  const [snapshot, setSnapshot] = useState<ReceivedSnapshot | null>(null);
  const [studies, setStudies] = useState<{ studies: StudySummary[]; hospitals: string[] }>({ studies: [], hospitals: [] });
  /** The study the page shows (the latest snapshot's), for the actions. */
  const shown = useRef('');
  const [connection, setConnection] = useState<ConnectionState | null>(null);
  const [actionCount, setActionCount] = useState(0);
  // Each sign-in attempt gets a number; answers for an older attempt are dropped (and its channel closed).
  const attempt = useRef(0);
  const channel = useRef<AdminChannel | null>(null);
  // Set when this tab changed the password: the session-ended that follows is then explained as such.
  const passwordChanged = useRef(false);

  const closeChannel = useCallback(() => {
    channel.current?.close();
    channel.current = null;
  }, []);

  const signOutWith = useCallback(
    (message: string | null) => {
      attempt.current += 1;
      closeChannel();
      forgetSession();
      setSnapshot(null);
      setConnection(null);
      setState({ kind: 'signed-out', message });
    },
    [closeChannel],
  );

  const connect = useCallback(
    async (session: AdminSession, refusedText: (reason: string) => string) => {
      const mine = attempt.current;
      const current = () => mine === attempt.current;
      try {
        const opened = await openAdminChannel({ session: session.session }, {
          onSnapshot: (data) => {
            if (!current()) return;
            shown.current = data.config.id;
            setSnapshot({ data, at: Date.now() });
          },
          onStudies: (list) => current() && setStudies(list),
          onConnection: (c) => current() && setConnection(c),
          onEnded: (reason) =>
            current() &&
            signOutWith(
              passwordChanged.current
                ? 'Password changed. Every admin session (other tabs and browsers, and this one) was signed out: sign in with the new password.'
                : `Signed out: ${reason}.`,
            ),
        });
        if (!current()) return opened.close();
        channel.current = opened;
        setState({ kind: 'signed-in', channel: opened, session });
      } catch (e) {
        if (!current()) return;
        if (e instanceof ConnectError && e.refused) return signOutWith(refusedText(e.message));
        // The server could not be reached: a saved session stays saved, so a reload can resume it.
        setState({ kind: 'signed-out', message: `Cannot reach the server: ${(e as Error).message}. Try again in a moment.` });
      }
    },
    [signOutWith],
  );

  const signIn = useCallback(
    async (password: string) => {
      attempt.current += 1;
      const mine = attempt.current;
      passwordChanged.current = false;
      closeChannel();
      setState({ kind: 'connecting', resuming: false });
      try {
        const session = await requestSession(password);
        if (mine !== attempt.current) return;
        saveSession(session);
        await connect(session, (r) => `Sign-in failed: the server refused the new session (${r}).`);
      } catch (e) {
        if (mine !== attempt.current) return;
        setState({ kind: 'signed-out', message: e instanceof LoginError ? e.message : `Sign-in failed: ${(e as Error).message}.` });
      }
    },
    [closeChannel, connect],
  );

  // Resume a saved session (a reload of the tab).
  useEffect(() => {
    const saved = savedSession();
    if (saved && 'session' in saved) {
      attempt.current += 1;
      void connect(saved.session, (r) => `Signed out: ${r}.`);
    }
    return () => {
      attempt.current += 1;
      closeChannel();
    };
  }, [connect, closeChannel]);

  const signedIn = state.kind === 'signed-in' ? state : null;
  const actions = useMemo<AdminActions | null>(
    () =>
      signedIn &&
      bindAdminActions(
        signedIn.channel,
        signedIn.session,
        {
          afterAction: () => setActionCount((n) => n + 1),
          onSessionEnded: (reason) => signOutWith(`Signed out: ${reason}.`),
          onPasswordChanged: () => (passwordChanged.current = true),
        },
        () => shown.current,
      ),
    [signedIn, signOutWith],
  );

  return {
    state,
    snapshot,
    studies,
    connection,
    actions,
    /** Grows after every admin action: the audit panel reloads on it. */
    actionCount,
    signIn,
    signOut: useCallback(() => signOutWith(null), [signOutWith]),
  };
}
