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
        Every update is clipped to norm {privacy.clipNorm}; noise multiplier z = {privacy.noiseMultiplier}.
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
              <th>Updates M</th>
              <th>Clip C</th>
              <th>Clipped</th>
              <th>Noise σ (z·C/M)</th>
              <th>‖A‖</th>
              <th>‖noise‖</th>
              <th>Σ‖Δ‖</th>
              <th>ε per hospital</th>
              <th>ε per sub-client</th>
            </tr>
          </thead>
          <tbody>
            {dpRounds.map(({ round, dp }) => (
              <tr key={round} data-testid="dp-round-row">
                <td>{round}</td>
                <td>{dp!.updates}</td>
                <td>{dp!.clip}</td>
                <td>{dp!.clipped}</td>
                <td>{dp!.sigma.toExponential(2)}</td>
                <td>{dp!.aggregateNorm.toFixed(3)}</td>
                <td>{dp!.noiseNorm.toFixed(3)}</td>
                <td>{dp!.normSum.toFixed(3)}</td>
                <td>{eps(dp!.epsilonHospital)}</td>
                <td>{eps(dp!.epsilonSubClient)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
