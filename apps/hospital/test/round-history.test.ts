import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { historyKey, loadHistory, markJoined, markLeft, mergeRounds, newJoinId, saveHistory } from '../src/api/round-history';

const round = (n: number, accuracy = 0.5) => ({ round: n, accuracy, loss: 1 - accuracy, samples: 10 });
const sent = (n: number) => ({ round: n, updates: 2, slices: 40, bytes: 4096, trainLoss: 0.5 });

describe('the hospital’s history in IndexedDB', () => {
  it('is kept per enrolment token (hashed), and survives a reload (a fresh read)', async () => {
    const key = await historyKey('fwd_token-a', 'demo');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toContain('token-a');
    expect(await historyKey('fwd_token-b', 'demo')).not.toBe(key);
    expect(await loadHistory(key)).toBeNull();

    await saveHistory(key, { rounds: [round(0), round(1)], sent: [sent(1)], finished: null });
    expect(await loadHistory(key)).toEqual({ rounds: [round(0), round(1)], sent: [sent(1)], finished: null, joinedAs: null });
  });

  it('merges round by round: a page that saw fewer rounds (another tab) never drops stored ones', async () => {
    const key = await historyKey('fwd_merge', 'demo');
    await saveHistory(key, { rounds: [round(0), round(1), round(2)], sent: [sent(1), sent(2)], finished: null });
    await saveHistory(key, { rounds: [round(2, 0.9)], sent: [], finished: { round: 2 } });
    const h = await loadHistory(key);
    expect(h?.rounds.map((r) => [r.round, r.accuracy])).toEqual([
      [0, 0.5],
      [1, 0.5],
      [2, 0.9],
    ]);
    expect(h?.sent).toHaveLength(2);
    expect(h?.finished).toEqual({ round: 2 });
  });

  it('remembers the join under way; ending it clears it, but not a newer join of another tab', async () => {
    const key = await historyKey('fwd_join', 'demo');
    const first = newJoinId();
    const second = newJoinId();
    expect(first).not.toBe(second);
    await markJoined(key, first);
    expect((await loadHistory(key))?.joinedAs).toBe(first);
    // Another tab of the same hospital joins; the first is replaced and stops: the second's join stays.
    await markJoined(key, second);
    await markLeft(key, first);
    expect((await loadHistory(key))?.joinedAs).toBe(second);
    // Saving rounds keeps the join.
    await saveHistory(key, { rounds: [round(1)], sent: [], finished: null });
    expect((await loadHistory(key))?.joinedAs).toBe(second);
    await markLeft(key, second);
    expect((await loadHistory(key))?.joinedAs).toBeNull();
  });

  it('mergeRounds puts newer entries over older ones of the same round, in round order', () => {
    expect(mergeRounds([round(2), round(0)], [round(1), round(2, 0.8)]).map((r) => [r.round, r.accuracy])).toEqual([
      [0, 0.5],
      [1, 0.5],
      [2, 0.8],
    ]);
  });
});
