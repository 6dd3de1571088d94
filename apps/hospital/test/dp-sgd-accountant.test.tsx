import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ClientEvent } from '@fedward/client';
import { federationConfigSchema, studyPlan, type FederationConfig } from '@fedward/protocol';
import { StudyCard } from '../src/routes/join/components/StudyCard';
import { initialFederationState, reduce, type FederationState } from '../src/routes/join/hooks/federation-state';
import { TrainingCard } from '../src/routes/join/components/TrainingCard';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
const render = (state: Partial<FederationState>) =>
  renderToStaticMarkup(<TrainingCard state={{ ...initialFederationState, ...state }} canJoin blockers={[]} onJoin={() => undefined} onLeave={() => undefined} />);

describe('DP-SGD: the accountant named next to the local ε', () => {
  it('keeps the sampler from the participant\u2019s events and names its accountant (absent: Poisson)', () => {
    const event: ClientEvent = { type: 'dp-sgd', round: 1, epoch: 1, epsilon: 0.4321, target: 6.5, unit: 'patient', sampling: 'uniform' };
    const s = reduce(initialFederationState, event);
    expect(s.dpSgd!.sampling).toBe('uniform');
    const uniform = render({ phase: 'training', dpSgd: s.dpSgd });
    expect(text(uniform)).toContain('Local ε per patient: 0.432 of 6.5');
    expect(text(uniform)).toContain('accountant: GDP (CLT approximation, deepee), uniform sampling');
    const stopped = reduce(s, { type: 'dp-sgd-stopped', round: 2, spent: 0.4321, projected: 7, target: 6.5, unit: 'patient', sampling: 'uniform' });
    expect(stopped.dpSgd!.sampling).toBe('uniform');
    const poisson = reduce(initialFederationState, { ...event, sampling: 'poisson' });
    expect(text(render({ phase: 'training', dpSgd: poisson.dpSgd }))).toContain('accountant: RDP, Poisson sampling');
    const { sampling: _, ...old } = event;
    expect(text(render({ phase: 'training', dpSgd: reduce(initialFederationState, old).dpSgd }))).toContain('accountant: RDP, Poisson sampling');
  });
});

describe('DP-SGD in the study plan', () => {
  const config = (dpSgd: FederationConfig['dpSgd']): FederationConfig =>
    federationConfigSchema.parse({
      id: 'demo',
      name: 'Demo',
      rounds: 2,
      minClients: 2,
      roundDeadlineMs: 60_000,
      maxUpdateBytes: 1 << 24,
      chunkBytes: 1 << 16,
      model: { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 1 },
      training: { epochs: 1, batchSize: 8, learningRate: 0.01 },
      dpSgd,
    });
  const card = (c: FederationConfig) => {
    const study = { id: 'demo', name: 'Demo', status: 'draft' as const, phase: 'waiting' as const, round: 0, rounds: 2, hospitals: 2, frozen: false, config: c, plan: studyPlan(c, 100), planDigest: 'x', privacy: null };
    return renderToStaticMarkup(<StudyCard studies={[study]} chosen={study} accepted={null} onChoose={() => undefined} onAccept={() => undefined} />);
  };
  const dp = { noiseMultiplier: 1, clip: 1, targetEpsilon: 8, delta: 1e-5 };

  it('plan-dp-sgd says how records are sampled and which accountant counts the privacy', () => {
    const uniform = card(config({ ...dp, sampling: 'uniform', reduction: 'mean' }));
    expect(uniform).toContain('data-sampling="uniform"');
    expect(text(uniform)).toContain('uniform sampling, as in deepee');
    expect(text(uniform)).toContain('GDP (CLT approximation, deepee), uniform sampling (an estimate, not a strict bound)');
    expect(text(uniform)).toContain('(mean reduction)');
    const poisson = text(card(config({ ...dp, sampling: 'poisson' })));
    expect(poisson).toContain('(Poisson sampling)');
    expect(poisson).toContain('RDP, Poisson sampling (a strict bound)');
    expect(poisson).not.toContain('mean reduction');
  });
});
