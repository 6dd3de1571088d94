import { ScrollX } from '../../../features/scroll-x/ScrollX';
import type { FederationConfig, RoundView } from '@fedward/protocol';

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);

const STRATEGY_TEXT: Record<'fedbn' | 'prr-fl', string> = {
  fedbn: 'FedBN: every tensor is averaged except the normalisation layers, which each hospital keeps. Each hospital gets its own model back.',
  'prr-fl':
    'PRR-FL: each hospital trains a personalized model that never leaves it, next to a deputy that is exchanged. The server mixes only the ' +
    'low-frequency amplitude of the deputies’ kernels (Progressive Fourier Aggregation), so every hospital gets a different deputy back. ' +
    'Accuracy is measured with the personalized model; the deputy’s is shown next to it.',
};

/** Per hospital and round: the model the hospital uses, and under PRR-FL its deputy. */
export function PersonalizationPanel({ config, rounds }: { config: FederationConfig; rounds: RoundView[] }) {
  const strategy = config.personalization?.strategy ?? 'fedavg';
  if (strategy === 'fedavg') return null;
  const hospitals = [...new Set(rounds.flatMap((r) => r.evaluations.map((e) => e.hospital)))].sort();
  return (
    <section className="card" data-testid="personalization">
      <h2>Personalization</h2>
      <p className="muted">{STRATEGY_TEXT[strategy]}</p>
      {strategy === 'prr-fl' && (
        <p className="muted">
          PFA shares a centred window of {((config.personalization?.lRate ?? 0.7) * 100).toFixed(0)}% of each spectral axis at round 1, growing to 95% at the last
          round; the summed amplitudes are divided by {config.personalization?.divisor === 'seed-4' ? 'the seed’s literal 4' : 'the number of hospitals'}.
        </p>
      )}
      {hospitals.length > 0 && (
        <ScrollX label="Personalization by round">
        <table className="compact">
          <thead>
            <tr>
              <th>After round</th>
              {hospitals.map((h) => (
                <th key={h}>{strategy === 'prr-fl' ? `${h}: personalized / deputy` : h}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rounds.map((r) => (
              <tr key={r.round} data-testid="personalization-row" data-round={r.round}>
                <td>{r.round}</td>
                {hospitals.map((h) => {
                  const e = r.evaluations.find((x) => x.hospital === h);
                  return (
                    <td key={h} data-testid={`personal-${h}`}>
                      {pct(e?.accuracy)}
                      {strategy === 'prr-fl' && <span className="muted"> / {pct(e?.deputy?.accuracy)}</span>}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
        </ScrollX>
      )}
    </section>
  );
}
