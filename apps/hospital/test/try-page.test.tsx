import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { LatestModel } from '../src/api/latest-model';
import { ModelCard } from '../src/routes/try/components/ModelCard';
import { PredictionCard } from '../src/routes/try/components/PredictionCard';

const model: LatestModel = {
  study: 'demo',
  studyName: 'Demo federation',
  round: 3,
  spec: { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 1 },
  classes: ['lesion', 'normal'],
  batchSize: 16,
  personalized: false,
  accuracy: 0.86,
  weights: new Uint8Array(),
  receivedAt: Date.UTC(2025, 0, 15, 9, 30),
};

const text = (html: string) => html.replace(/<[^>]+>/g, '');

describe('the Try page', () => {
  it('says in plain words that a hospital needs to take part in a round before there is a model', () => {
    const html = text(renderToStaticMarkup(<ModelCard state={{ loading: false, model: null, error: null }} />));
    expect(html).toMatch(/There is no model to try yet\..*stay for at least one round/);
  });

  it('names the model it tries: its study, its round, what it tells apart, and how it did here', () => {
    const html = text(renderToStaticMarkup(<ModelCard state={{ loading: false, model, error: null }} />));
    expect(html).toContain('The model from the study “Demo federation”, after round 3: a small CNN classifier for 32×32 slices that tells lesion and normal apart.');
    expect(html).toContain('it was right 86 % of the time');
    expect(text(renderToStaticMarkup(<ModelCard state={{ loading: false, model: { ...model, personalized: true, round: 0 }, error: null }} />))).toMatch(
      /^The model.*Your hospital’s personalized model from the study “Demo federation”, as the study started \(round 0, before any training\).*never left this computer/,
    );
  });

  it('says every class’s probability in plain words, and where a prediction is in a live region', () => {
    const done = renderToStaticMarkup(
      <PredictionCard
        model={model}
        state={{ status: 'done', subject: 'IM0001', pixels: new Uint16Array(32 * 32), batch: 16, prediction: { kind: 'classes', classes: [{ label: 'lesion', probability: 0.83 }, { label: 'normal', probability: 0.17 }] } }}
      />,
    );
    expect(text(done)).toContain('The model says lesion (83 %).lesion: 83 %normal: 17 %');
    expect(text(done)).toContain('in one batch with 15 of your imported slices');
    expect(renderToStaticMarkup(<PredictionCard model={model} state={{ status: 'reading', subject: 'IM0001' }} />)).toMatch(/role="status"[^>]*>Reading the slice… \(IM0001\)/);
    const failed = renderToStaticMarkup(<PredictionCard model={model} state={{ status: 'error', subject: 'IM0002', message: 'IM0002: pixel data is truncated; copy it again' }} />);
    expect(failed).toMatch(/role="alert"[^>]*>IM0002: pixel data is truncated; copy it again/);
  });

  it('draws a segmentation answer as a share of the slice', () => {
    const unet = { ...model, spec: { ...model.spec, kind: 'unet' as const } };
    const html = text(
      renderToStaticMarkup(
        <PredictionCard model={unet} state={{ status: 'done', subject: 'x.png', pixels: new Uint16Array(32 * 32), batch: 1, prediction: { kind: 'mask', foreground: new Float32Array(32 * 32), share: 0.04 } }} />,
      ),
    );
    expect(html).toContain('The model marks 4 % of the slice as foreground (tinted red).');
    expect(html).not.toContain('in one batch');
  });
});
