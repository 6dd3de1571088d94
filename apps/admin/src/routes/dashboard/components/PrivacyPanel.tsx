import type { PrivacyView, RoundView } from '@fedward/protocol';

const eps = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '∞');

/** The privacy budget in plain words, and what each DP round measured. */
export function PrivacyPanel({ privacy, rounds, stopReason }: { privacy: PrivacyView | null; rounds: RoundView[]; stopReason: string | null }) {
  if (!privacy) {
    return <p className="muted">Differential privacy is off for this federation: updates are averaged without clipping or noise.</p>;
  }
  const dpRounds = rounds.filter((r) => r.dp);
  return (
    <div data-testid="privacy">
      <p>
        Budget: ε ≤ <strong>{privacy.targetEpsilon}</strong> per {privacy.unit} at δ = {privacy.delta} ({privacy.accountant.toUpperCase()} accountant).
        {privacy.clipRule === 'fixed' && <>Every update is clipped to norm {privacy.clipNorm}; </>}
        {privacy.clipRule === 'quantile' && <>The clip bound adapts to the updates through a noised median estimate (private), starting at {privacy.clipNorm}; </>}
        {privacy.clipRule === 'median' && (
          <>
            The clip bound is the median of each round’s raw update norms (at most 25), as in the paper’s scripts.{' '}
            <strong className="error" data-testid="clip-leak">This median is not private: it leaks about the updates beyond the ε shown.</strong>{' '}
          </>
        )}
        noise multiplier z = {privacy.noiseMultiplier}.
      </p>
      <p data-testid="vn-mode">
        {privacy.virtualClients.mode === 'adaptive'
          ? 'Each hospital splits its data into sub-clients; the server re-chooses how many after every round from the measured noise-to-signal ratio (adaptive intermediary). '
          : privacy.virtualClients.next > 1
            ? 'Each hospital splits its data into a fixed number of sub-clients. '
            : ''}
        Next round: <strong data-testid="next-vn">{privacy.virtualClients.next}</strong> sub-client(s) per hospital.
      </p>
      <ul>
        <li>
          A <strong>hospital</strong> has spent ε = <strong data-testid="epsilon-hospital">{eps(privacy.spent.hospital)}</strong>: the guarantee for everything one hospital
          contributed (all its sub-clients together).
        </li>
        <li>
          One <strong>sub-client</strong> (a patient-disjoint part of a hospital) has spent ε = <strong data-testid="epsilon-subclient">{eps(privacy.spent.subClient)}</strong>.
        </li>
        <li>
          The next round would bring it to {eps(privacy.next.hospital)} per hospital, {eps(privacy.next.subClient)} per sub-client:{' '}
          <strong data-testid="next-round-allowed">{privacy.next.allowed ? 'within budget' : 'over budget: it will not start'}</strong>.
        </li>
      </ul>
      {stopReason && <p className="error" data-testid="stop-reason">Stopped: {stopReason}</p>}
      {privacy.warnings.map((w) => (
        <p key={w} className="muted">Accountant note: {w}</p>
      ))}
      {dpRounds.length > 0 && (
        <table className="compact" data-testid="dp-rounds">
          <thead>
            <tr>
              <th>Round</th>
              <th>VN</th>
              <th>Updates M</th>
              <th>Clip C</th>
              <th>Clipped</th>
              <th>Noise σ (z·C/M)</th>
              <th>‖A‖</th>
              <th>‖noise‖</th>
              <th>Σ‖Δ‖</th>
              <th>λ</th>
              <th>v</th>
              <th>Next VN</th>
              <th>ε per hospital</th>
              <th>ε per sub-client</th>
            </tr>
          </thead>
          <tbody>
            {dpRounds.map(({ round, dp }) => (
              <tr key={round} data-testid="dp-round-row">
                <td>
                  {round}
                  {dp!.probe && <span className="muted"> (probe, discarded)</span>}
                </td>
                <td data-testid="dp-vn">{dp!.maxSubClients < dp!.virtualClients ? `${dp!.maxSubClients} of ${dp!.virtualClients}` : dp!.virtualClients}</td>
                <td data-testid="dp-updates">{dp!.updates}</td>
                <td>
                  {Number(dp!.clip.toPrecision(4))}
                  {dp!.leaking && <span className="error" title="the median of raw norms is not private"> (leaks)</span>}
                </td>
                <td>{dp!.clipped}</td>
                <td>{dp!.sigma.toExponential(2)}</td>
                <td>{dp!.aggregateNorm.toFixed(3)}</td>
                <td>{dp!.noiseNorm.toFixed(3)}</td>
                <td>{dp!.normSum.toFixed(3)}</td>
                <td data-testid="dp-lambda">{dp!.lambda === null ? '—' : dp!.lambda.toExponential(2)}</td>
                <td>{dp!.adaptive ? dp!.adaptive.v.toFixed(2) : '—'}</td>
                <td data-testid="dp-next-vn">{dp!.adaptive ? `${dp!.adaptive.next}${dp!.adaptive.clamped ? ' (raised to 1)' : ''}` : '—'}</td>
                <td data-testid="dp-eps-hospital">{eps(dp!.epsilonHospital)}</td>
                <td data-testid="dp-eps-subclient">{eps(dp!.epsilonSubClient)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
