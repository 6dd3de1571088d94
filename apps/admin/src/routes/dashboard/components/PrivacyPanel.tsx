import { ScrollX } from '../../../features/scroll-x/ScrollX';
import type { DpRoundView, PrivacyView, RoundView } from '@fedward/protocol';

const eps = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '∞');
const num = (v: number) => Number(v.toPrecision(4)).toString();

const VN_MODE: Record<PrivacyView['virtualClients']['mode'], string> = {
  fixed: 'Each hospital splits its patients into a fixed number of sub-clients set by the admin.',
  heuristic: 'Each hospital splits its patients into ⌊√(z·√d/N)⌋ sub-clients, from public settings only (z, the model size d, the number of hospitals N).',
  adaptive:
    'Each hospital splits its patients into sub-clients; after every round the server re-chooses how many from a noised sum of the clipped update norms (a probe round first releases only that sum). The noised sum is accounted below.',
};

function releaseText(dp: DpRoundView): string {
  if (dp.probe) return 'noised norm sum only';
  return dp.releases.map((r) => (r.what === 'sum' ? 'model' : r.what === 'count' ? 'noised count' : 'noised norm sum')).join(' + ');
}

/** The privacy budget in plain words, and what each DP round released. Only released values and public settings appear here. */
export function PrivacyPanel({ privacy, rounds, stopReason }: { privacy: PrivacyView | null; rounds: RoundView[]; stopReason: string | null }) {
  if (!privacy) {
    return <p className="muted">Differential privacy is off for this federation: updates are averaged without clipping or noise.</p>;
  }
  const dpRounds = rounds.filter((r) => r.dp);
  return (
    <div data-testid="privacy">
      {!privacy.private && (
        <p className="error" data-testid="not-private">
          <strong>Not private.</strong> The clip bound is the median of each round’s raw update norms (at most 25), as in the paper’s scripts. That median is
          released without noise, so no finite ε holds: ε = ∞ for patients and hospitals. Use this mode for research comparisons only.
        </p>
      )}
      <p>
        Mechanism: every update is clipped to norm {privacy.clipRule === 'quantile' ? <>C (adapting through a noised, accounted count, from {privacy.clipNorm})</> : privacy.clipRule === 'median' ? 'the median' : privacy.clipNorm},
        put on an integer grid and summed exactly; the sum gets discrete Gaussian noise of std z·C with z = {privacy.noiseMultiplier}. Only that noised sum (and the
        other noised values listed per round) leaves aggregation.
        {privacy.private && (
          <>
            {' '}
            Budget: ε ≤ <strong>{privacy.targetEpsilon}</strong> per {privacy.unit} at δ = {privacy.delta} ({privacy.accountant.toUpperCase()} accountant).
          </>
        )}
      </p>
      <p data-testid="vn-mode">
        {VN_MODE[privacy.virtualClients.mode]} Next round: <strong data-testid="next-vn">{privacy.virtualClients.next}</strong> sub-client(s) per hospital; each
        hospital always sends exactly that many updates.
      </p>
      {privacy.spent && privacy.next ? (
        <ul>
          <li>
            One <strong>patient</strong> has spent ε = <strong data-testid="epsilon-patient">{eps(privacy.spent.patient)}</strong>. Covers: {privacy.relations.patient}.
          </li>
          <li>
            One <strong>hospital</strong> has spent ε = <strong data-testid="epsilon-hospital">{eps(privacy.spent.hospital)}</strong>. Covers: {privacy.relations.hospital}.
          </li>
          <li>
            The next round would bring them to {eps(privacy.next.patient)} per patient, {eps(privacy.next.hospital)} per hospital:{' '}
            <strong data-testid="next-round-allowed">{privacy.next.allowed ? 'within budget' : 'over budget: it will not start'}</strong>.
          </li>
        </ul>
      ) : (
        <p data-testid="epsilon-infinite">ε = ∞ per patient and per hospital.</p>
      )}
      {stopReason && (
        <p className="error" data-testid="stop-reason">
          Stopped: {stopReason}
        </p>
      )}
      {privacy.warnings.map((w) => (
        <p key={w} className="muted">
          Accountant note: {w}
        </p>
      ))}
      {dpRounds.length > 0 && (
        <ScrollX label="Privacy by round">
        <table className="compact" data-testid="dp-rounds">
          <caption className="muted">Per round: public settings and released (noised) values only.</caption>
          <thead>
            <tr>
              <th scope="col">Round</th>
              <th scope="col">Released</th>
              <th scope="col">VN</th>
              <th scope="col">Updates M</th>
              <th scope="col">Clip C</th>
              <th scope="col">Grid bound</th>
              <th scope="col">Noise σ on the mean</th>
              <th scope="col">Noised fraction under C</th>
              <th scope="col">Noised norm sum, λ̃</th>
              <th scope="col">Next VN</th>
              <th scope="col">ε per patient</th>
              <th scope="col">ε per hospital</th>
            </tr>
          </thead>
          <tbody>
            {dpRounds.map(({ round, dp }) => (
              // The exact releases (noise std, one update's sensitivity) let anyone recompute the ε columns.
              <tr key={round} data-testid="dp-round-row" data-releases={JSON.stringify(dp!.releases)}>
                <td>
                  {round}
                  {dp!.probe && <span className="muted"> (probe)</span>}
                </td>
                <td>{releaseText(dp!)}</td>
                <td data-testid="dp-vn">{dp!.virtualClients}</td>
                <td data-testid="dp-updates">{dp!.updates}</td>
                <td data-testid="dp-clip">
                  {num(dp!.clip)}
                  {!dp!.private && <span className="error"> (median: not private)</span>}
                </td>
                <td data-testid="dp-bound">{dp!.grid.bound}</td>
                <td data-testid="dp-sigma">{dp!.probe ? '—' : dp!.sigma.toExponential(2)}</td>
                <td>{dp!.quantile ? `${dp!.quantile.fraction.toFixed(2)} → C ${num(dp!.quantile.nextClip)}` : '—'}</td>
                <td data-testid="dp-lambda">{dp!.adaptive ? `${num(dp!.adaptive.noisedNormSum)}, ${eps(dp!.adaptive.lambda)}` : '—'}</td>
                <td data-testid="dp-next-vn">{dp!.nextVirtualClients}</td>
                <td data-testid="dp-eps-patient">{dp!.epsilon ? eps(dp!.epsilon.patient) : '∞'}</td>
                <td data-testid="dp-eps-hospital">{dp!.epsilon ? eps(dp!.epsilon.hospital) : '∞'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </ScrollX>
      )}
    </div>
  );
}
