import { decodeWeights, encodeWeights, type FederationConfig, type NamedTensor, type RoundStart } from '@fedward/protocol';
import { detStageNumber, type Dataset, type DetEngine } from '@fedward/models';
import { DET_ROUND_START, nextDetStage, prrflLearningRate, type DetStage } from '@fedward/personalization';
import type { ClientEvent } from './events';
import type { ParticipantOptions } from './participant';
import { localEpoch } from './local-epoch';
import { request, uploadUpdate, type HospitalSocket } from './socket';
import type { TrainingStateStore } from './training-state';

/**
 * PRR-FL on one hospital (Chen et al. 2021; spec §2.3–2.5): the personalized model stays here
 * (kept in the training-state store, so a reload resumes it), the deputy is what the server
 * exchanges. First connection: both start from the server's weights.
 */
export async function startDet(det: DetEngine, deputy: NamedTensor[], store: TrainingStateStore, config: FederationConfig): Promise<void> {
  det.setDeputyWeights(deputy);
  const kept = await store.load();
  const personal = kept?.federationId === config.id && kept.personal ? decodeWeights(kept.personal) : deputy;
  det.setPersonalWeights(personal);
}

/**
 * One round: the deputy starts from this hospital's PFA result, DET trains both models for the
 * round's local epochs (the stage is re-decided before every epoch from both models' training
 * macro-F1), then only the deputy is uploaded.
 */
export async function* trainDetRound(
  socket: HospitalSocket,
  det: DetEngine,
  config: FederationConfig,
  options: ParticipantOptions,
  store: TrainingStateStore,
  start: RoundStart,
): AsyncGenerator<ClientEvent> {
  const { round } = start;
  const { epochs, batchSize, learningRate } = config.training;
  const sub = { subClient: 0, subClients: 1 };
  yield { type: 'round-start', round, deadline: start.deadline };
  det.setDeputyWeights(decodeWeights(start.weights));
  // The seed halves the rate every 5 rounds (round a counts from 0).
  const lr = prrflLearningRate(round - 1, learningRate);
  let stage: DetStage = DET_ROUND_START;
  let loss = Number.NaN;
  let steps = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const scores = await det.scores(options.train, batchSize);
    stage = nextDetStage(stage, { personalized: scores.personal, deputy: scores.deputy });
    yield { type: 'det-stage', round, epoch, stage, personalF1: scores.personal, deputyF1: scores.deputy };
    const batches = det.trainEpoch(options.train, { epoch, batchSize, learningRate: lr, stage: detStageNumber(stage), localEpochs: epochs, shuffleSeed: round * 1000 + epoch });
    // The deputy is what leaves the hospital, so its loss is the one reported.
    const result = yield* localEpoch(socket, { round, epoch, epochs, ...sub }, batches, (r) => r.deputyLoss);
    loss = result.deputyLoss;
    steps += result.steps;
  }
  const deputy = encodeWeights(det.getDeputyWeights());
  await store.save({ federationId: config.id, states: [], personal: encodeWeights(det.getPersonalWeights()), deputy });
  const refused = yield* uploadUpdate(
    socket,
    { round, trainSamples: options.train.size, trainLoss: loss, backend: options.backend, ...sub, steps },
    deputy,
    config.chunkBytes,
  );
  if (refused) return yield refused;
  yield { type: 'uploaded', round, ...sub };
  socket.emit('status', { phase: 'idle', round, progress: 1 });
}

/** The personalized model is what the hospital uses, so it is what is reported; the deputy comes along. */
export async function* evaluateDet(
  socket: HospitalSocket,
  det: DetEngine,
  test: Dataset,
  round: number,
  config: FederationConfig,
): AsyncGenerator<ClientEvent> {
  if (test.size === 0) return;
  socket.emit('status', { phase: 'evaluating', round, progress: 0 });
  const { personal, deputy } = await det.evaluate(test, config.training.batchSize);
  await request(socket, 'evaluation', {
    round,
    testSamples: personal.samples,
    accuracy: personal.accuracy,
    loss: personal.loss,
    deputy: { accuracy: deputy.accuracy, loss: deputy.loss },
  });
  socket.emit('status', { phase: 'idle', round, progress: 1 });
  yield {
    type: 'evaluated',
    round,
    accuracy: personal.accuracy,
    loss: personal.loss,
    samples: personal.samples,
    deputy: { accuracy: deputy.accuracy, loss: deputy.loss },
  };
}
