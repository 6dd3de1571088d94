import { describe, expect, it } from 'vitest';
import { advertiseKeys, encodeShare, fromRing, maskInput, revealShares, shareKeys, toRing, type ParticipantState } from '@fedward/secagg';
import type { SecAggRoundSettings } from '@fedward/protocol';
import { SecAggRound, type SecAggRoundHooks } from '../src/secagg-round';

const settings: SecAggRoundSettings = { threshold: 2, context: 'test/round-1', clip: 1, countUnclipped: false, normSum: false, length: 8, stageTimeoutMs: 60_000 };
const tick = () => new Promise((r) => setTimeout(r, 0));

/** A SecAggRound with hooks that record what it sends and how it ends. */
function harness(participants: string[]) {
  const sent: { hospital: string; event: string; msg: unknown }[] = [];
  const outcome: { done?: { sum: Float64Array; updates: number; summed: string[] }; failed?: string } = {};
  const hooks: SecAggRoundHooks = {
    send: (hospital, event, msg) => sent.push({ hospital, event, msg }),
    done: (r) => (outcome.done = r),
    failed: (reason) => (outcome.failed = reason),
    changed: () => {},
    info: () => {},
  };
  return { round: new SecAggRound(1, settings, participants, hooks), sent, outcome };
}

describe('SecAggRound (the server side of one round)', () => {
  it('takes each message once per hospital, only at its stage, and only from whom it expects', async () => {
    const { round, sent, outcome } = harness(['a', 'b', 'c']);
    const keys = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, advertiseKeys(id)]));
    const advert = (id: string) => ({ round: 1, cPk: keys[id]!.advert.cPk, sPk: keys[id]!.advert.sPk });
    expect(round.keys('a', advert('a'))).toEqual({ ok: true });
    // A hospital that reconnects and advertises again is refused: one advert per round.
    expect(round.keys('a', advert('a'))).toMatchObject({ ok: false, error: { code: 'not-participant', message: expect.stringMatching(/already sent its keys/) } });
    expect(round.keys('z', advert('a'))).toMatchObject({ ok: false, error: { message: expect.stringMatching(/not expected/) } });
    expect(round.sharesFrom('a', { round: 1, shares: [{ to: 'b', ciphertext: new Uint8Array(4) }] })).toMatchObject({ ok: false, error: { code: 'wrong-round' } });
    round.keys('b', advert('b'));
    round.keys('c', advert('c'));
    await tick();
    expect(round.stage).toBe('share');
    const roster = sent.filter((s) => s.event === 'secagg-roster');
    expect(roster.map((s) => s.hospital)).toEqual(['a', 'b', 'c']);

    const states: Record<string, ParticipantState> = {};
    const shares: Record<string, { to: string; ciphertext: Uint8Array; from: string }[]> = {};
    for (const id of ['a', 'b', 'c']) {
      const r = await shareKeys(keys[id]!.secret, { context: settings.context, threshold: 2, length: 8 }, ['a', 'b', 'c'].map((x) => keys[x]!.advert));
      states[id] = r.state;
      shares[id] = r.shares;
    }
    // Shares must reach every other roster member once, and only them.
    expect(round.sharesFrom('a', { round: 1, shares: shares.a!.slice(0, 1) })).toMatchObject({ ok: false, error: { code: 'bad-message' } });
    expect(round.sharesFrom('a', { round: 1, shares: [...shares.a!, { to: 'z', ciphertext: new Uint8Array(4) }] })).toMatchObject({ ok: false });
    for (const id of ['a', 'b', 'c']) expect(round.sharesFrom(id, { round: 1, shares: shares[id]! })).toEqual({ ok: true });
    await tick();
    expect(round.stage).toBe('mask');

    // c goes quiet before uploading; a and b upload and reveal.
    const inputs = { a: toRing(Float64Array.from([1, -2, 3, -4, 5, -6, 7, -8])), b: toRing(Float64Array.from([10, 20, 30, 40, 50, 60, 70, 80])) };
    for (const id of ['a', 'b'] as const) {
      const msg = sent.find((s) => s.event === 'secagg-shares-in' && s.hospital === id)!.msg as { u2: string[]; shares: { from: string; to: string; ciphertext: Uint8Array }[] };
      const masked = await maskInput(states[id]!, inputs[id], msg.u2, msg.shares);
      expect(round.maskedFrom(id, masked, 1)).toEqual({ ok: true });
      expect(round.uploadRefusal(id)).toMatch(/already uploaded/);
    }
    expect(round.uploadRefusal('z')).toMatch(/did not send its shares/);
    round.left('c');
    await tick();
    expect(round.stage).toBe('reveal');
    const unmask = sent.find((s) => s.event === 'secagg-unmask' && s.hospital === 'a')!.msg as { dropped: string[]; survivors: string[] };
    expect(unmask).toMatchObject({ dropped: ['c'], survivors: ['a', 'b'] });
    // A reveal must name exactly who dropped and who survived.
    expect(round.reveal('a', { round: 1, sShares: [], bShares: [] })).toMatchObject({ ok: false, error: { code: 'bad-message' } });
    for (const id of ['a', 'b']) {
      const r = revealShares(states[id]!, unmask.dropped, unmask.survivors);
      const wire = (l: typeof r.sShares) => l.map((s) => ({ of: s.of, share: encodeShare(s.share) }));
      expect(round.reveal(id, { round: 1, sShares: wire(r.sShares), bShares: wire(r.bShares) })).toEqual({ ok: true });
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(outcome.failed).toBeUndefined();
    expect(outcome.done!.summed).toEqual(['a', 'b']);
    expect(outcome.done!.updates).toBe(2);
    expect([...outcome.done!.sum]).toEqual([...fromRing(inputs.a)].map((v, i) => v + fromRing(inputs.b)[i]!));
    expect(round.view()).toMatchObject({ stage: 'done', summed: 2, dropped: [{ hospital: 'c', stage: 'mask' }] });
  });

  it('fails, naming the stage and the counts, when a stage closes with fewer than t', async () => {
    const { round, outcome } = harness(['a', 'b', 'c']);
    round.keys('a', { round: 1, ...advertiseKeys('a').advert });
    round.closeStage('the deadline');
    expect(outcome.failed).toBe('secure aggregation failed at stage "advertise": 1 of 3 participants advertised their keys (the deadline); the threshold is 2');
    expect(round.view()).toMatchObject({ stage: 'failed', dropped: [{ hospital: 'b', stage: 'advertise' }, { hospital: 'c', stage: 'advertise' }] });
  });
});
