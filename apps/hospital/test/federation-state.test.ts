import { describe, expect, it } from 'vitest';
import type { ClientEvent } from '@fedward/client';
import { initialFederationState, reduce, type FederationState } from '../src/routes/join/hooks/federation-state';

const fold = (events: ClientEvent[], from: FederationState = { ...initialFederationState, trainSlices: 90 }) => events.reduce(reduce, from);

/** One sub-client's training and upload as the participant reports them. */
function subClient(round: number, subClient: number, subClients: number, loss: number, bytes: number): ClientEvent[] {
  const sub = { round, subClient, subClients };
  return [
    { type: 'epoch-start', ...sub, epoch: 1, epochs: 1 },
    { type: 'batch', ...sub, epoch: 1, epochs: 1, batch: 1, batches: 1, loss: loss + 0.5 },
    { type: 'epoch-end', ...sub, epoch: 1, epochs: 1, loss },
    { type: 'upload', ...sub, sentBytes: bytes / 2, totalBytes: bytes },
    { type: 'upload', ...sub, sentBytes: bytes, totalBytes: bytes },
    { type: 'uploaded', ...sub },
  ];
}

describe('what the page keeps of a participation', () => {
  it('records each round’s updates: how many, on how many slices, their size and slice-weighted loss', () => {
    const s = fold([
      { type: 'round-start', round: 1, deadline: 0 },
      { type: 'sub-clients', round: 1, requested: 3, slices: [60, 0, 30], probe: false, note: null },
      ...subClient(1, 0, 3, 0.6, 2048),
      ...subClient(1, 1, 3, 9, 2048), // empty: its loss counts for nothing
      ...subClient(1, 2, 3, 0.3, 2048),
    ]);
    expect(s.sent).toEqual([{ round: 1, updates: 3, slices: 90, bytes: 6144, trainLoss: (0.6 * 60 + 0.3 * 30) / 90 }]);
    expect(s.phase).toBe('waiting');
  });

  it('a round without sub-clients (PRR-FL) counts the whole training split; a round sent again replaces its entry', () => {
    const round = (loss: number): ClientEvent[] => [{ type: 'round-start', round: 2, deadline: 0 }, ...subClient(2, 0, 1, loss, 1000)];
    const s = fold([...round(0.9), { type: 'disconnected', reason: 'transport close' }, ...round(0.4)]);
    expect(s.sent).toEqual([{ round: 2, updates: 1, slices: 90, bytes: 1000, trainLoss: 0.4 }]);
  });

  it('keeps evaluations by round (a reconnect re-evaluating a round replaces it) and the federation’s end', () => {
    const s = fold([
      { type: 'evaluated', round: 1, accuracy: 0.5, loss: 0.7, samples: 20 },
      { type: 'evaluated', round: 0, accuracy: 0.4, loss: 0.8, samples: 20 },
      { type: 'evaluated', round: 1, accuracy: 0.6, loss: 0.6, samples: 20 },
      { type: 'federation-done', round: 1, reason: 'all rounds done' },
    ]);
    expect(s.history.map((h) => [h.round, h.accuracy])).toEqual([
      [0, 0.4],
      [1, 0.6],
    ]);
    expect(s.finished).toEqual({ round: 1, reason: 'all rounds done' });
    expect(s.phase).toBe('done');
  });

  it('DP-SGD: keeps the local ε with the round and epoch it was counted after; the watchdog’s stop keeps spent and projected', () => {
    const epoch = (round: number, e: number, epsilon: number): ClientEvent[] => [
      { type: 'epoch-start', round, subClient: 0, subClients: 1, epoch: e, epochs: 2 },
      { type: 'dp-sgd', round, epoch: e, epsilon, target: 6.5, unit: 'patient' },
    ];
    const s = fold([{ type: 'round-start', round: 1, deadline: 0 }, ...epoch(1, 1, 2.1), ...epoch(1, 2, 3.2)]);
    expect(s.dpSgd).toEqual({ epsilon: 3.2, target: 6.5, unit: 'patient', round: 1, epoch: 2, epochs: 2, stopped: false, projected: null });
    const stopped = fold([{ type: 'dp-sgd-stopped', round: 3, spent: 5.08, projected: 6.74, target: 6.5, unit: 'patient' }], s);
    expect(stopped.dpSgd).toEqual({ epsilon: 5.08, target: 6.5, unit: 'patient', round: 3, epoch: null, epochs: null, stopped: true, projected: 6.74 });
    expect(stopped.phase).toBe('done');
  });

  it('a rejoin shows "rejoining" until the server has the hospital again', () => {
    const s = fold([{ type: 'connected', hospital: 'hospital-a', config: {} as never, backend: 'cpu', privacy: null }], { ...initialFederationState, phase: 'rejoining' });
    expect(s.phase).toBe('waiting');
  });
});
