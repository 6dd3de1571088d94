import type { LatestModel } from '../../../api/latest-model';
import { percent, type Prediction } from '../../../api/prediction';
import type { PredictionState } from '../hooks/usePrediction';
import { SliceCanvas } from './SliceCanvas';

/** What the live region says: every step, so a screen reader hears the page working. */
function statusText(state: PredictionState): string {
  switch (state.status) {
    case 'idle':
      return 'Pick a slice above to see what the model says.';
    case 'reading':
      return `Reading the slice… (${state.subject})`;
    case 'predicting':
      return `Predicting… (${state.subject})`;
    case 'done':
      return `Done: the model’s answer for ${state.subject} is below.`;
    case 'error':
      return `Could not try ${state.subject}.`;
  }
}

function Answer({ prediction }: { prediction: Prediction }) {
  if (prediction.kind === 'mask')
    return (
      <p data-testid="try-answer" data-share={prediction.share}>
        {prediction.share > 0
          ? `The model marks ${percent(prediction.share)} of the slice as foreground (tinted red).`
          : 'The model marks no pixel of this slice as foreground.'}{' '}
        <span className="muted">Foreground: the pixels the model outlines as the region it looks for.</span>
      </p>
    );
  const [top] = prediction.classes;
  return (
    <>
      <p data-testid="try-answer">
        The model says <strong>{top?.label}</strong> ({percent(top?.probability ?? 0)}).
      </p>
      <ul className="probabilities" data-testid="probabilities">
        {prediction.classes.map((c) => (
          <li key={c.label} data-testid="probability" data-label={c.label} data-value={c.probability}>
            <span>
              {c.label}: {percent(c.probability)}
            </span>
            <span className="probability-bar" aria-hidden="true">
              <span style={{ width: `${c.probability * 100}%` }} />
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}

/** The latest pick: where it is (in a live region), then the slice as the model saw it and its answer. */
export function PredictionCard({ state, model }: { state: PredictionState; model: LatestModel }) {
  const size = model.spec.inputSize;
  return (
    <section className="card" aria-labelledby="try-answer-heading">
      <h2 id="try-answer-heading">The model’s answer</h2>
      <p role="status" data-testid="try-status" data-status={state.status}>
        {statusText(state)}
      </p>
      {state.status === 'error' && (
        <p className="error" role="alert" data-testid="try-error">
          {state.message}
        </p>
      )}
      {state.status === 'done' && (
        <div className="row try-result">
          <SliceCanvas
            pixels={state.pixels}
            size={size}
            {...(state.prediction.kind === 'mask' ? { mask: state.prediction.foreground } : {})}
            label={`${state.subject} as the model saw it (${size}×${size})${state.prediction.kind === 'mask' ? ', its foreground tinted red' : ''}`}
            testId="tried-slice"
          />
          <div>
            <Answer prediction={state.prediction} />
            <p className="muted">
              Computed in this browser
              {state.batch > 1 ? `, in one batch with ${state.batch - 1} of your imported slices (run through the model together), as your hospital’s evaluation does` : ''}.
              Nothing was sent.
            </p>
          </div>
        </div>
      )}
    </section>
  );
}
