import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { FederationConfig, RoundView } from '@fedward/protocol';
import { DpSgdPanel } from '../src/routes/dashboard/components/DpSgdPanel';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();

const config = (dpSgd: FederationConfig['dpSgd']): FederationConfig => ({
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
const rounds: RoundView[] = [
  {
    round: 1,
    dp: null,
    participants: [{ hospital: 'a', trainSamples: 40, trainLoss: 0.6, backend: 'wasm', subClients: 1, dpSgdEpsilon: 1.2346 }],
    accuracy: null,
    loss: null,
    evaluations: [],
    completedAt: null,
  },
];
const dp = { noiseMultiplier: 1, clip: 1, targetEpsilon: 8, delta: 1e-5 };

describe('DpSgdPanel', () => {
  it('names the accountant next to the hospitals\u2019 ε: RDP for Poisson sampling, deepee\u2019s GDP CLT approximation for uniform', () => {
    const poisson = text(renderToStaticMarkup(<DpSgdPanel config={config({ ...dp, sampling: 'poisson' })} rounds={rounds} />));
    expect(poisson).toContain('Accountant: RDP, Poisson sampling — a strict bound');
    expect(poisson).toContain('Its ε per record (RDP, Poisson sampling)');
    expect(poisson).toContain('1.235');
    const uniform = text(renderToStaticMarkup(<DpSgdPanel config={config({ ...dp, sampling: 'uniform', reduction: 'mean' })} rounds={rounds} />));
    expect(uniform).toContain('Accountant: GDP (CLT approximation, deepee), uniform sampling');
    expect(uniform).toContain('not a strict bound');
    expect(uniform).toContain('Its ε per record (GDP (CLT approximation, deepee), uniform sampling)');
    expect(uniform).toContain('deepee’s mean reduction');
  });
});
