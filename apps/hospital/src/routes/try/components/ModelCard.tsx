import type { ModelSpec } from '@fedward/protocol';
import type { LatestModel } from '../../../api/latest-model';
import { percent } from '../../../api/prediction';
import type { LatestModelState } from '../hooks/useLatestModel';

const KINDS: Record<ModelSpec['kind'], string> = {
  'small-cnn': 'a small CNN classifier',
  densenet: 'a DenseNet classifier',
  'vgg-slim': 'a VGG classifier',
  unet: 'a U-Net segmentation model',
  'small-cnn-vb': 'a small CNN classifier with a variational bottleneck',
};

/** What each kind of model is, in a few plain words (shown on hover). */
const KIND_NOTES: Record<ModelSpec['kind'], string> = {
  'small-cnn': 'CNN: a convolutional neural network, a common kind of image model. A classifier sorts each slice into one of the labels.',
  densenet: 'DenseNet: a kind of convolutional neural network (image model). A classifier sorts each slice into one of the labels.',
  'vgg-slim': 'VGG: a kind of convolutional neural network (image model). A classifier sorts each slice into one of the labels.',
  unet: 'U-Net: a kind of convolutional neural network (image model). Segmentation marks which pixels of the slice belong to the region it looks for.',
  'small-cnn-vb':
    'CNN with a variational bottleneck (PRECODE): in training its features pass through random noise, which makes its updates harder to turn back into images; a prediction uses the noise-free path, so it is the same every time.',
};

const and = (items: readonly string[]): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

function Summary({ model }: { model: LatestModel }) {
  const { spec } = model;
  const segmentation = spec.kind === 'unet';
  const received = new Date(model.receivedAt).toLocaleString();
  return (
    <>
      <p data-testid="model-summary" data-round={model.round}>
        {model.personalized ? 'Your hospital’s personalized model' : 'The model'} from the study “{model.studyName}”,{' '}
        <strong data-testid="model-round">{model.round === 0 ? 'as the study started (round 0, before any training)' : `after round ${model.round}`}</strong>:{' '}
        <span title={KIND_NOTES[spec.kind]}>{KINDS[spec.kind]}</span> for {spec.inputSize}×{spec.inputSize} slices{segmentation ? '' : ` that tells ${and(model.classes)} apart`}. This browser kept it on{' '}
        {received}.
      </p>
      <p className="muted">
        On your held-out slices (set aside to test the model, never trained on) it {segmentation ? `got ${percent(model.accuracy)} of the pixels right` : `was right ${percent(model.accuracy)} of the time`}.
        {model.personalized &&
          ' It was trained here under PRR-FL (personalized federated learning: each hospital keeps a model of its own) and never left this computer.'}{' '}
        A research model from a federated study: not a diagnosis.
      </p>
    </>
  );
}

/** Which model the page tries, or in plain words why there is none yet. */
export function ModelCard({ state }: { state: LatestModelState }) {
  return (
    <section className="card" aria-labelledby="try-model-heading">
      <h2 id="try-model-heading">The model</h2>
      {state.loading && <p className="muted">Looking for the model this browser kept…</p>}
      {state.error && (
        <p className="error" role="alert">
          {state.error}
        </p>
      )}
      {!state.loading && !state.error && !state.model && (
        <p data-testid="no-model">
          There is no model to try yet. This browser keeps the model of every round its hospital takes part in: go to <a href="#/">Join a study</a>, join, and
          stay for at least one round, then come back here.
        </p>
      )}
      {state.model && <Summary model={state.model} />}
    </section>
  );
}
