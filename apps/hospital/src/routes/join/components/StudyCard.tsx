import { DP_SGD_ACCOUNTANT_LABELS, type StudyPlan } from '@fedward/protocol';
import type { Acceptance } from '../../../api/plan-acceptance';
import type { StudyOffer } from '../../../types/federation';

const MODEL_WORDS: Record<StudyPlan['task']['model'], string> = {
  'small-cnn': 'a small convolutional neural network (a common kind of image model) that sorts each slice into one of the classes',
  densenet: 'a DenseNet (a kind of image model) that sorts each slice into one of the classes',
  unet: 'a U-Net (a kind of image model) that outlines lesions on slices',
  'vgg-slim': 'a VGG-style network (a kind of image model) that sorts each slice into one of the classes',
  'small-cnn-vb':
    'a small convolutional neural network that sorts each slice into one of the classes, with a random "bottleneck" (PRECODE) that makes its updates harder to turn back into images',
};

const STATUS_WORDS: Record<StudyOffer['status'], string> = { draft: 'not started', running: 'running', paused: 'paused', stopped: 'stopped' };

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Step 2: which study, and what it will do on this hospital's data. Nothing runs until the
 * hospital accepts this exact plan (its digest); a changed plan needs a new acceptance.
 */
export function StudyCard({
  studies,
  chosen,
  accepted,
  onChoose,
  onAccept,
}: {
  studies: StudyOffer[];
  chosen: StudyOffer | null;
  accepted: Acceptance | null;
  onChoose: (id: string) => void;
  onAccept: (study: StudyOffer) => void;
}) {
  if (studies.length === 0) {
    return (
      <section className="card" aria-labelledby="study-heading">
        <h2 id="study-heading">2 · Study</h2>
        <p data-testid="no-studies">This hospital is not enrolled in any open study yet. Ask the federation admin to enrol it.</p>
      </section>
    );
  }
  const current = accepted !== null && chosen !== null && accepted.digest === chosen.planDigest;
  return (
    <section className="card" aria-labelledby="study-heading">
      <h2 id="study-heading">2 · Study and its plan</h2>
      <fieldset data-testid="studies">
        <legend>Studies this hospital takes part in</legend>
        {studies.map((s) => (
          <label key={s.id} className="row">
            <input type="radio" name="study" value={s.id} checked={chosen?.id === s.id} onChange={() => onChoose(s.id)} />
            <span>
              <strong>{s.name}</strong> <span className="muted">({STATUS_WORDS[s.status]}, {s.round} of {plural(s.rounds, 'round')} done)</span>
            </span>
          </label>
        ))}
      </fieldset>
      {chosen && <PlanReview study={chosen} />}
      {chosen && (
        <div className="plan-acceptance" data-testid="plan-acceptance" data-accepted={String(current)}>
          {current ? (
            <p className="ok" role="status">
              You accepted this plan on {new Date(accepted.at).toLocaleString()}.
            </p>
          ) : (
            <>
              {accepted && (
                <p className="warning" role="alert">
                  This study’s plan changed since you accepted it on {new Date(accepted.at).toLocaleString()}. Review it again before joining.
                </p>
              )}
              <button type="button" onClick={() => onAccept(chosen)}>
                I have reviewed this plan and accept it
              </button>
            </>
          )}
        </div>
      )}
    </section>
  );
}

function PlanReview({ study }: { study: StudyOffer }) {
  const { plan } = study;
  const p = plan.privacy;
  const updates = plan.updatesPerRound;
  return (
    <div className="plan" data-testid="plan">
      <h3>What this study will do on your slices</h3>
      <ul>
        <li>
          Train {MODEL_WORDS[plan.task.model]} ({plan.task.inputSize}×{plan.task.inputSize} pixels, {plural(plan.task.classes, 'class', 'classes')}) on
          this computer: {plural(plan.training.epochs, 'pass', 'passes')} over your training slices per round, for up to {plural(plan.rounds, 'round')}.
        </li>
        {plan.task.norm === 'group' && (
          <li data-testid="plan-group-norm">
            The model’s normalisation layers are GroupNorm: each slice is normalised on its own, never with the other slices of its batch (as private
            training, DP-SGD, needs).
          </li>
        )}
        <li>
          Each round, send{' '}
          {typeof updates === 'number'
            ? plural(updates, 'model update')
            : 'as many model updates as the server asks for that round (one per sub-client: a separate part of your training slices, trained on its own)'}{' '}
          of {kib(plan.updateBytes)} each: numbers that describe how the model changed, never the slices themselves.
        </li>
        <li>
          {p && p.clipRule === 'median' ? (
            <strong>
              The server adds random noise to every model it releases, but it sets the clip bound from the updates themselves (the median rule), so no privacy
              guarantee holds (ε is infinite) and no privacy budget applies.
            </strong>
          ) : p ? (
            <>
              The server adds random noise to every model it releases (differential privacy: a limit on how much the released models can reveal about any
              one {p.unit === 'patient' ? 'patient' : 'hospital'}) and stops the study before the privacy budget of ε = {p.targetEpsilon} per{' '}
              {p.unit === 'patient' ? 'patient' : 'hospital'} (δ = {p.delta}) is spent. ε (epsilon) is the privacy loss: smaller is more private. δ (delta) is
              the small chance that this limit does not hold. Noise multiplier z = {p.noiseMultiplier} (how strong the noise is, relative to C; larger is more
              private).{' '}
              {p.clipRule === 'quantile'
                ? `Clip bound C starts at ${p.clipNorm} and then follows a noised count of how many updates fit under it (the largest change any one model update may make to the model; larger ones are scaled down).`
                : `Clip bound C = ${p.clipNorm} (the largest change any one model update may make to the model; larger ones are scaled down).`}
            </>
          ) : (
            <strong>No differential privacy: the server does not add noise, and no privacy budget applies.</strong>
          )}
        </li>
        {plan.dpSgd && (
          <li data-testid="plan-dp-sgd">
            Private training on this computer (DP-SGD): every training step caps how much any one patient (any one slice, where slices have no patient
            id) can change the model (clip C = {plan.dpSgd.clip}) and adds random noise (σ = {plan.dpSgd.noiseMultiplier}). This computer keeps count of
            the privacy spent and stops training before ε per patient would pass {plan.dpSgd.targetEpsilon} (δ = {plan.dpSgd.delta}).{' '}
            <span data-testid="plan-dp-sgd-sampling" data-sampling={plan.dpSgd.sampling}>
              {plan.dpSgd.sampling === 'uniform'
                ? 'Each step takes exactly the batch size of patients, drawn at random without replacement (uniform sampling, as in deepee)'
                : 'Each step takes each patient independently, with probability batch size ÷ patients (Poisson sampling)'}
              ; the privacy spent is counted as {DP_SGD_ACCOUNTANT_LABELS[plan.dpSgd.sampling]}
              {plan.dpSgd.sampling === 'uniform' ? ' (an estimate, not a strict bound)' : ' (a strict bound)'}.
              {plan.dpSgd.reduction === 'mean' && ' Gradients are averaged before the noise is added, as deepee does (mean reduction).'}
            </span>
          </li>
        )}
        {plan.secureAggregation && (
          <li data-testid="plan-secagg">
            Secure aggregation: your updates are clipped and added up on this computer, and only that sum leaves it, hidden under masks that cancel out
            only when the sums of at least {plan.secureAggregation.threshold} hospitals are added together. The server can read the total, never your
            sum alone. If too few hospitals remain during a round, the round is run again.
          </li>
        )}
      </ul>
      <details>
        <summary>Every message this hospital sends, with its fields</summary>
        <table className="compact">
          <thead>
            <tr>
              <th scope="col">Message</th>
              <th scope="col">When</th>
              <th scope="col">Fields</th>
            </tr>
          </thead>
          <tbody>
            {plan.sends.map((m) => (
              <tr key={m.message}>
                <th scope="row">{m.message}</th>
                <td>{m.when}</td>
                <td>{m.fields.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      <p className="muted small">
        Plan digest (SHA-256, a fingerprint of this exact plan: it changes if the plan changes): <code data-testid="plan-digest">{study.planDigest}</code>
      </p>
    </div>
  );
}
