import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { federationConfigSchema, studyPlan, type FederationConfig } from '@fedward/protocol';
import { StudyCard } from '../src/routes/join/components/StudyCard';

const card = (model: Partial<FederationConfig['model']>) => {
  const config = federationConfigSchema.parse({
    id: 'demo',
    name: 'Demo',
    rounds: 2,
    minClients: 2,
    roundDeadlineMs: 60_000,
    maxUpdateBytes: 1 << 24,
    chunkBytes: 1 << 16,
    model: { kind: 'vgg-slim', inputSize: 32, channels: 1, numClasses: 2, seed: 1, ...model },
    training: { epochs: 1, batchSize: 8, learningRate: 0.01 },
  });
  const study = { id: 'demo', name: 'Demo', status: 'draft' as const, phase: 'waiting' as const, round: 0, rounds: 2, hospitals: 2, frozen: false, config, plan: studyPlan(config, 100), planDigest: 'x', privacy: null };
  return renderToStaticMarkup(<StudyCard studies={[study]} chosen={study} accepted={null} onChoose={() => undefined} onAccept={() => undefined} />);
};

describe('GroupNorm in the study plan', () => {
  it('the plan says GroupNorm when the study chose it, and nothing for the default norms', () => {
    expect(card({ norm: 'group' })).toMatch(/data-testid="plan-group-norm"[^>]*>[^<]*GroupNorm/);
    expect(card({ norm: 'batch' })).not.toContain('plan-group-norm');
    expect(card({})).not.toContain('GroupNorm');
  });
});
