import { DP_SGD_ACCOUNTANT_LABELS, type FederationConfig, type RoundView } from '@fedward/protocol';

/**
 * DP-SGD inside the hospitals: each hospital's own ε per record (patient, where its slices carry
 * patient ids) as it last reported it with an update, next to the study's settings. These are the
 * hospitals' local guarantees; the client-level ε in the privacy panel is the study's.
 */
export function DpSgdPanel({ config, rounds }: { config: FederationConfig; rounds: RoundView[] }) {
  const dp = config.dpSgd;
  if (!dp) return null;
  const latest = new Map<string, { round: number; epsilon: number }>();
  for (const r of rounds) for (const p of r.participants) if (p.dpSgdEpsilon !== undefined) latest.set(p.hospital, { round: r.round, epsilon: p.dpSgdEpsilon });
  return (
    <section className="card" data-testid="dp-sgd-panel">
      <h2>Private training inside hospitals (DP-SGD)</h2>
      <p className="muted">
        Every local step clips each record’s gradient to C = {dp.clip} and adds noise σ = {dp.noiseMultiplier} (
        {dp.sampling === 'uniform' ? 'uniform sampling: a fixed batch drawn without replacement' : 'Poisson sampling'}
        {dp.reduction === 'mean' && ', deepee’s mean reduction'}); each hospital stops before its own ε per record passes {dp.targetEpsilon} (δ ={' '}
        {dp.delta}). The released model is post-processing of both this and the study’s client-level mechanism, so each guarantee holds on its own.
      </p>
      <p className="muted" data-testid="dp-sgd-accountant" data-sampling={dp.sampling}>
        Accountant: {DP_SGD_ACCOUNTANT_LABELS[dp.sampling]}
        {dp.sampling === 'uniform'
          ? ' — deepee’s central-limit approximation, an estimate and not a strict bound.'
          : ' — a strict bound for the discrete Gaussian noise.'}
      </p>
      {latest.size === 0 ? (
        <p className="muted">No hospital has reported yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Hospital</th>
              <th scope="col">Its ε per record ({DP_SGD_ACCOUNTANT_LABELS[dp.sampling]})</th>
              <th scope="col">As of round</th>
            </tr>
          </thead>
          <tbody>
            {[...latest].map(([hospital, l]) => (
              <tr key={hospital} data-testid="dp-sgd-row">
                <th scope="row">{hospital}</th>
                <td data-testid="dp-sgd-epsilon">{l.epsilon.toFixed(3)}</td>
                <td>{l.round}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
