import { useCallback, useEffect, useRef, useState } from 'react';
import type { FederationSnapshot } from '@fedward/protocol';
import { connectAdmin, forgetPassword, savedPassword, type AdminSocket } from './api/admin-socket';
import { createToken, revokeToken } from './api/tokens';
import { DashboardPage } from './routes/dashboard/DashboardPage';
import { LoginPage } from './routes/login/LoginPage';

export function App() {
  const socket = useRef<AdminSocket | null>(null);
  const [snapshot, setSnapshot] = useState<FederationSnapshot | null>(null);
  const [error, setError] = useState<string | null>(null);

  const login = useCallback(async (password: string) => {
    socket.current?.close();
    try {
      socket.current = await connectAdmin(password, setSnapshot);
      setError(null);
    } catch (e) {
      forgetPassword();
      setError(`Sign-in failed: ${(e as Error).message}`);
    }
  }, []);

  useEffect(() => {
    const saved = savedPassword();
    if (saved) void login(saved);
    return () => {
      socket.current?.close();
    };
  }, [login]);

  if (!snapshot || !socket.current) return <LoginPage error={error} onLogin={login} />;
  const live = socket.current;
  return (
    <DashboardPage
      snapshot={snapshot}
      onCreateToken={(hospital) => createToken(live, hospital)}
      onRevokeToken={(id) => revokeToken(live, id)}
      onSignOut={() => {
        forgetPassword();
        live.close();
        socket.current = null;
        setSnapshot(null);
      }}
    />
  );
}
