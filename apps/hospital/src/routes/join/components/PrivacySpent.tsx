import type { HospitalPrivacyView } from '@fedward/protocol';
import type { RoundRecord } from '../../../types/federation';

const eps = (x: number) => (x < 0.01 ? x.toExponential(1) : x.toFixed(2));

/**
 * The privacy spent so far for this hospital and for each of its patients, in plain words, with
 * the budget left; and a warning when the model is no better than guessing on held-out slices.
 */
export function PrivacySpent({ privacy, history, classes }: { privacy: HospitalPrivacyView | null; history: RoundRecord[]; classes: number }) {
  const latest = history.at(-1);
  const chance = 1 / classes;
  return (
    <section className="card" aria-labelledby="privacy-heading" data-testid="privacy-spent">
      <h2 id="privacy-heading">Privacy so far</h2>
      {!privacy ? (
        <p>This study has no differential privacy: the server does not add noise to what it releases, and no privacy budget is kept.</p>
      ) : !privacy.private ? (
        <p className="warning">
          This study’s clip rule (how the size of each model update is capped) is not private: no finite privacy guarantee holds (ε, the privacy loss, is
          infinite).
        </p>
      ) : (
        <>
          <p>
            ε (epsilon: the privacy loss; smaller is more private) spent so far: <strong data-testid="epsilon-patient">{eps(privacy.spent?.patient ?? 0)}</strong>{' '}
            for any one patient and{' '}
            <strong data-testid="epsilon-hospital">{eps(privacy.spent?.hospital ?? 0)}</strong> for this hospital as a whole (δ = {privacy.delta}). The
            study’s budget is ε = {privacy.targetEpsilon} per {privacy.unit}
            {privacy.spent ? `, so ${eps(Math.max(0, privacy.targetEpsilon - privacy.spent[privacy.unit]))} is left` : ''}.
          </p>
          <p className="muted small">
            ε measures how much what the server released could change if one patient’s slices (or everything this hospital holds) were left out: smaller
            is more private. δ (delta) is the small chance that the ε guarantee does not hold. Per patient: {privacy.relations.patient}. Per hospital:{' '}
            {privacy.relations.hospital}.
          </p>
        </>
      )}
      {latest && latest.accuracy <= chance && (
        <p className="warning" role="alert" data-testid="chance-warning">
          After round {latest.round}, the model is right on {(latest.accuracy * 100).toFixed(1)}% of your held-out slices: no better than guessing
          ({(chance * 100).toFixed(0)}% with {classes} {classes === 1 ? 'class' : 'classes'}). Do not rely on it.
        </p>
      )}
    </section>
  );
}
