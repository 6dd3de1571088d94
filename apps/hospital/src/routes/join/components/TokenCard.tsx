import { useState } from 'react';
import type { Enrolment } from '../../../types/federation';

export function TokenCard({
  enrolment,
  error,
  onCheck,
  onForget,
}: {
  enrolment: Enrolment | null;
  error: string | null;
  onCheck: (token: string) => void;
  onForget: () => void;
}) {
  const [token, setToken] = useState('');
  if (enrolment) {
    return (
      <section className="card" data-testid="enrolment">
        <h2>1 · Enrolment</h2>
        <p>
          This browser is <strong data-testid="hospital-name">{enrolment.hospital}</strong>, enrolled in{' '}
          {enrolment.studies.length === 1 ? '1 open study' : `${enrolment.studies.length} open studies`}.
        </p>
        <button className="link" onClick={onForget}>Use another token</button>
      </section>
    );
  }
  return (
    <section className="card">
      <h2>1 · Enrolment</h2>
      <p className="muted">Paste the enrolment token your federation admin gave this hospital.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onCheck(token.trim());
        }}
      >
        <label htmlFor="enrolment-token" className="visually-hidden">
          Enrolment token
        </label>
        <input
          id="enrolment-token"
          placeholder="fwd_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoComplete="off"
          spellCheck={false}
        />
        <button type="submit">Check token</button>
      </form>
      {error && <p className="error" role="alert">{error}</p>}
    </section>
  );
}
