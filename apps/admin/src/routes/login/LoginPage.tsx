import { useState } from 'react';

export function LoginPage({ error, onLogin }: { error: string | null; onLogin: (password: string) => void }) {
  const [password, setPassword] = useState('');
  return (
    <main className="narrow">
      <h1>Fedward admin</h1>
      <p className="muted">The admin password was printed once when the server first started (or set with FEDWARD_ADMIN_PASSWORD).</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onLogin(password);
        }}
      >
        <input type="password" aria-label="Admin password" value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit">Sign in</button>
      </form>
      {error && <p className="error" role="alert">{error}</p>}
    </main>
  );
}
