import { ScrollX } from '../../../features/scroll-x/ScrollX';
import { useState } from 'react';
import type { TokenView } from '@fedward/protocol';

export function TokensPanel({
  tokens,
  onCreate,
  onRevoke,
}: {
  tokens: TokenView[];
  onCreate: (hospital: string) => Promise<string>;
  onRevoke: (id: number) => Promise<void>;
}) {
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ hospital: string; token: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <div>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const hospital = name.trim();
            setCreated({ hospital, token: await onCreate(hospital) });
            setName('');
            setError(null);
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        <input aria-label="Hospital name" placeholder="Hospital name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={!name.trim()}>Create enrolment token</button>
      </form>
      {error && <p className="error" role="alert">{error}</p>}
      {created && (
        <p className="token" data-testid="new-token">
          Token for <strong>{created.hospital}</strong> (shown once, only its hash is stored):{' '}
          <code data-testid="new-token-value">{created.token}</code>
        </p>
      )}
      <ScrollX label="Enrolment tokens">
      <table className="compact" data-testid="tokens">
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id}>
              <td>{t.hospital}</td>
              <td className="muted">{new Date(t.createdAt).toLocaleString()}</td>
              <td>{t.revoked ? 'revoked' : <button className="link danger" onClick={() => onRevoke(t.id)}>Revoke</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </ScrollX>
    </div>
  );
}
