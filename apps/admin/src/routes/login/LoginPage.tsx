import { useId, useState } from 'react';

export function LoginPage({
  message,
  busy,
  onLogin,
}: {
  message: string | null;
  /** A sign-in is under way: 'signing-in', or 'resuming' a saved session. */
  busy: 'signing-in' | 'resuming' | null;
  onLogin: (password: string) => void;
}) {
  const [password, setPassword] = useState('');
  const id = useId();
  return (
    <main className="narrow">
      <h1>Fedward admin</h1>
      <p className="muted">The admin password was printed once when the server first started (or set with FEDWARD_ADMIN_PASSWORD).</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (password) onLogin(password);
        }}
      >
        <p>
          <label htmlFor={`${id}-password`}>Admin password</label>
          <br />
          <input
            id={`${id}-password`}
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />{' '}
          <button type="submit" disabled={busy !== null}>
            Sign in
          </button>
        </p>
      </form>
      {busy && (
        <p className="muted" role="status">
          {busy === 'resuming' ? 'Resuming your session…' : 'Signing in…'}
        </p>
      )}
      {message && (
        <p className="error" role="alert" data-testid="login-message">
          {message}
        </p>
      )}
    </main>
  );
}
