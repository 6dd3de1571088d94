import type { DpRoundView, FederationConfig, HospitalView, PrivacyView, RoundView } from '@fedward/protocol';
import type { PrivacyCardInput } from '../src';

/** A DP study of three rounds (the first an adaptive probe) at two hospitals, as the server's views hold it. */
export const HOSTILE = '<img src=x onerror=alert(1)>';

export const dpConfig: FederationConfig = {
  id: 'ich-demo',
  name: 'ICH demo',
  rounds: 5,
  minClients: 2,
  roundDeadlineMs: 60_000,
  maxUpdateBytes: 1 << 20,
  chunkBytes: 65_536,
  model: { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 1, normalization: 'zscore' },
  training: { epochs: 2, batchSize: 16, learningRate: 0.001, optimizer: 'amsgrad' },
  aggregation: { strategy: 'fedavg' },
  privacy: {
    noiseMultiplier: 2,
    clipNorm: 1,
    targetEpsilon: 20,
    delta: 1e-5,
    unit: 'patient',
    accountant: 'rdp',
    virtualClients: 'adaptive',
    clipRule: 'quantile',
  },
};

export const privacyView: PrivacyView = {
  unit: 'patient',
  targetEpsilon: 20,
  delta: 1e-5,
  accountant: 'rdp',
  noiseMultiplier: 2,
  clipNorm: 1,
  clipRule: 'quantile',
  mechanism: 'discrete-gaussian',
  private: true,
  relations: { patient: 'add or remove all slices of one patient at one hospital', hospital: 'change anything in the data of one hospital' },
  virtualClients: { mode: 'adaptive', next: 3 },
  spent: { patient: 4.5, hospital: 21.25 },
  next: { patient: 5.9, hospital: 30.1, allowed: true },
  warnings: [],
};

const dp = (over: Partial<DpRoundView>): DpRoundView => ({
  mechanism: 'discrete-gaussian',
  private: true,
  clipRule: 'quantile',
  clip: 1,
  noiseMultiplier: 2,
  grid: { scale: 4096, bound: 4096 },
  sigma: 0.5,
  updates: 2,
  virtualClients: 1,
  vnRule: 'adaptive',
  strategy: 'fedavg',
  tauEff: 1,
  probe: false,
  releases: [
    { what: 'sum', sigma: 8192, perUpdate: 8192 },
    { what: 'count', sigma: 2, perUpdate: 1 },
  ],
  quantile: { noisedCount: 1.2, fraction: 0.6, nextClip: 0.98 },
  adaptive: null,
  nextVirtualClients: 1,
  epsilon: { patient: 1, hospital: 1 },
  ...over,
});

export const rounds: RoundView[] = [
  {
    round: 1,
    dp: dp({ probe: true, releases: [{ what: 'norm-sum', sigma: 8192, perUpdate: 4096 }], quantile: null, epsilon: { patient: 1.5, hospital: 1.5 }, nextVirtualClients: 3 }),
    participants: [
      { hospital: 'North', trainSamples: 120, trainLoss: 0.69, backend: 'wasm', subClients: 1 },
      { hospital: HOSTILE, trainSamples: 80, trainLoss: 0.7, backend: 'webgl', subClients: 1 },
    ],
    accuracy: null,
    loss: null,
    evaluations: [],
    completedAt: Date.UTC(2025, 0, 2, 10, 0),
  },
  {
    round: 2,
    dp: dp({ clip: 0.98, updates: 6, virtualClients: 3, epsilon: { patient: 3.25, hospital: 12.5 } }),
    participants: [
      { hospital: 'North', trainSamples: 120, trainLoss: 0.52, backend: 'wasm', subClients: 3 },
      { hospital: HOSTILE, trainSamples: 80, trainLoss: 0.61, backend: 'webgl', subClients: 3 },
    ],
    accuracy: 0.75,
    loss: 0.55,
    evaluations: [
      { hospital: 'North', testSamples: 40, accuracy: 0.8, loss: 0.5 },
      { hospital: HOSTILE, testSamples: 10, accuracy: 0.8, loss: 0.6 },
    ],
    completedAt: Date.UTC(2025, 0, 2, 10, 5),
  },
  {
    round: 3,
    dp: dp({ clip: 0.95, updates: 6, virtualClients: 3, epsilon: { patient: 4.5, hospital: 21.25 } }),
    participants: [
      { hospital: 'North', trainSamples: 120, trainLoss: 0.41, backend: 'wasm', subClients: 3 },
      { hospital: HOSTILE, trainSamples: 80, trainLoss: 0.5, backend: 'webgl', subClients: 3 },
    ],
    accuracy: 0.85,
    loss: 0.4,
    evaluations: [
      { hospital: 'North', testSamples: 40, accuracy: 0.875, loss: 0.38 },
      { hospital: HOSTILE, testSamples: 10, accuracy: 0.9, loss: 0.45 },
    ],
    completedAt: Date.UTC(2025, 0, 2, 10, 10),
  },
];

const hospital = (name: string, trainSamples: number, testSamples: number, patientIds?: HospitalView['patientIds']): HospitalView => ({
  name,
  connected: true,
  state: 'ready',
  lastSeen: null,
  patientIds,
  backend: 'wasm',
  status: null,
  trainSamples,
  testSamples,
});

export const hospitals: HospitalView[] = [hospital('North', 120, 40, 'all'), hospital(HOSTILE, 80, 10)];

export const dpInput: PrivacyCardInput = {
  config: dpConfig,
  rounds,
  hospitals,
  privacy: privacyView,
  softwareVersion: '0.1.0',
  planDigest: 'a'.repeat(64),
  labels: ['no bleed', 'bleed'],
  createdAt: new Date(Date.UTC(2025, 0, 2, 11, 0)),
};
