import type { BatchProgress, EpochResult } from '@fedward/models';
import type { ClientEvent } from './events';
import type { HospitalSocket } from './socket';

/**
 * Runs one local epoch's batches, reporting each to the UI (a 'batch' event) and to the server
 * (a status with the round's overall progress), between 'epoch-start' and 'epoch-end'. Returns
 * the engine's epoch result, so plain and DET training share one loop.
 */
export async function* localEpoch<R extends EpochResult>(
  socket: HospitalSocket,
  at: { round: number; epoch: number; epochs: number; subClient: number; subClients: number },
  batches: AsyncGenerator<BatchProgress, R>,
  lossOf: (result: R) => number,
): AsyncGenerator<ClientEvent, R> {
  const { round, epoch, epochs, subClient, subClients } = at;
  const sub = { subClient, subClients };
  yield { type: 'epoch-start', round, ...sub, epoch, epochs };
  for (;;) {
    const step = await batches.next();
    if (step.done) {
      yield { type: 'epoch-end', round, ...sub, epoch, epochs, loss: lossOf(step.value) };
      return step.value;
    }
    const done = (epoch - 1 + step.value.batch / step.value.batches) / epochs;
    socket.emit('status', { phase: 'training', round, progress: (subClient + done) / subClients, ...sub });
    yield { type: 'batch', round, ...sub, epochs, ...step.value };
  }
}
