import type { FederationConfig, SecAggStage, SecAggView } from '@fedward/protocol';

const STAGE_TEXT: Record<SecAggView['stage'], string> = {
  advertise: 'training, then sending keys',
  share: 'sharing keys',
  mask: 'uploading masked sums',
  reveal: 'revealing the shares that remove the masks',
  done: 'done: the sum was unmasked',
  failed: 'failed',
};

const DROP_TEXT: Record<SecAggStage, string> = {
  advertise: 'before sending keys',
  share: 'before sharing keys',
  mask: 'before uploading its masked sum',
  reveal: 'after uploading, before revealing shares (its update is in the sum)',
};

/**
 * Secure aggregation as the admin sees it: t and n, the stage of the round under way (or of the
 * last one), who dropped at which step, and that the server read only the sum. All public: who
 * answered each stage is what any relay sees.
 */
export function SecureAggregationPanel({ config, secagg }: { config: FederationConfig; secagg: SecAggView | null }) {
  const settings = config.secureAggregation;
  if (!settings) return null;
  return (
    <section className="card" data-testid="secagg-panel">
      <h2>Secure aggregation</h2>
      <p className="muted">
        On: each hospital clips its own updates and uploads only their masked sum; the server unmasks the total of at least {settings.threshold}{' '}
        hospitals and never sees one hospital’s update. The differential privacy noise is then added to that total as without secure aggregation.
      </p>
      {secagg ? (
        <table>
          <tbody>
            <tr>
              <th scope="row">Stage</th>
              <td data-testid="secagg-stage" data-stage={secagg.stage}>
                {STAGE_TEXT[secagg.stage]}
              </td>
            </tr>
            <tr>
              <th scope="row">Threshold t / hospitals n</th>
              <td data-testid="secagg-tn">
                {secagg.threshold} / {secagg.participants}
              </td>
            </tr>
            <tr>
              <th scope="row">Sum of</th>
              <td data-testid="secagg-summed">{secagg.summed === null ? '—' : `${secagg.summed} hospitals (the server saw only this sum)`}</td>
            </tr>
            <tr>
              <th scope="row">Dropped</th>
              <td data-testid="secagg-dropped">
                {secagg.dropped.length === 0 ? 'none' : secagg.dropped.map((d) => `${d.hospital} ${DROP_TEXT[d.stage]}`).join('; ')}
              </td>
            </tr>
            {secagg.failure && (
              <tr>
                <th scope="row">Failure</th>
                <td className="error" data-testid="secagg-failure">
                  {secagg.failure}; the round runs again
                </td>
              </tr>
            )}
          </tbody>
        </table>
      ) : (
        <p className="muted">No round has started yet.</p>
      )}
    </section>
  );
}
