import { describe, expect, it } from 'vitest';
import { fromRing, runSecAggRound, SHARE_CIPHERTEXT_BYTES, toRing, ThresholdError } from '../src/index';
import type { DropStage } from '../src/index';
import { makeIds, pick, randomInts } from './helpers';

const N = 10;
const T = 6;
const L = 1000;

/** Random inputs whose sum over any subset stays inside the signed 32-bit range: |x| < 2^27, n = 10. */
function makeInputs() {
  const ids = makeIds(N);
  const plain = new Map(ids.map((id) => [id, randomInts(L, -(2 ** 27), 2 ** 27)]));
  const inputs = new Map([...plain].map(([id, x]) => [id, toRing(x)]));
  return { ids, plain, inputs };
}

function plainSum(plain: Map<string, Float64Array>, ids: string[]): Float64Array {
  const out = new Float64Array(L);
  for (const id of ids) plain.get(id)!.forEach((v, i) => (out[i]! += v));
  return out;
}

const STAGES: DropStage[] = ['advertise', 'share', 'mask', 'reveal'];

describe('runSecAggRound (n = 10, t = 6, L = 1000)', () => {
  it('sums exactly with no dropouts, and accounts the bytes', async () => {
    const { ids, plain, inputs } = makeInputs();
    const r = await runSecAggRound({ context: 'study/round-1', threshold: T, inputs });
    expect(fromRing(r.sum)).toEqual(plainSum(plain, ids));
    expect(r.survivors).toEqual(ids);
    expect(r.dropped).toEqual([]);
    const b = r.bytes.perParticipant;
    expect(b.masked).toBe(4 * L);
    const idBytes = 'hospital-000'.length;
    expect(b.sharesOut).toBe((N - 1) * (SHARE_CIPHERTEXT_BYTES + 2 * idBytes));
    expect(b.advert).toBe(64 + idBytes);
    expect(b.total).toBe(b.advert + b.rosterIn + b.sharesOut + b.sharesIn + b.masked + b.listsIn + b.reveal);
  });

  for (const stage of STAGES) {
    for (const k of [2, 4]) {
      it(`sums exactly with ${k} dropouts after '${stage}'`, async () => {
        const { ids, plain, inputs } = makeInputs();
        const gone = pick(ids, k);
        const r = await runSecAggRound({ context: `study/${stage}-${k}`, threshold: T, inputs, dropAfter: [{ stage, ids: gone }] });
        // After 'reveal' they uploaded a masked input: their input IS in the sum. Otherwise it is not.
        const inSum = stage === 'reveal' ? ids : ids.filter((id) => !gone.includes(id));
        expect(r.survivors).toEqual(inSum);
        expect(r.dropped).toEqual(ids.filter((id) => !inSum.includes(id)));
        expect(r.revealed).toEqual(ids.filter((id) => !gone.includes(id)));
        expect(fromRing(r.sum)).toEqual(plainSum(plain, inSum));
      });
    }
  }

  it('sums exactly with dropouts at every stage in one round', async () => {
    const { ids, plain, inputs } = makeInputs();
    const [a, s, m, v] = pick(ids, 4) as [string, string, string, string];
    const r = await runSecAggRound({
      context: 'study/mixed',
      threshold: T,
      inputs,
      dropAfter: [
        { stage: 'advertise', ids: [a] },
        { stage: 'share', ids: [s] },
        { stage: 'mask', ids: [m] },
        { stage: 'reveal', ids: [v] },
      ],
    });
    const inSum = ids.filter((id) => id !== a && id !== s && id !== m);
    expect(fromRing(r.sum)).toEqual(plainSum(plain, inSum));
    expect(r.revealed.length).toBe(6);
  });

  const expectedMessage: Record<DropStage, string> = {
    advertise: 'sharing: 5 of 10 participants sent shares, the threshold is 6',
    share: 'masking: 5 of 10 participants sent masked inputs, the threshold is 6',
    mask: 'masking: 5 of 10 participants sent masked inputs, the threshold is 6',
    reveal: 'unmasking: 5 of 10 participants revealed shares, the threshold is 6',
  };
  for (const stage of STAGES) {
    it(`throws with 5 dropouts after '${stage}', naming the stage and counts`, async () => {
      const { ids, inputs } = makeInputs();
      const run = runSecAggRound({ context: 'ctx', threshold: T, inputs, dropAfter: [{ stage, ids: pick(ids, 5) }] });
      await expect(run).rejects.toThrow(ThresholdError);
      await expect(run).rejects.toThrow(expectedMessage[stage]);
    });
  }

  it('refuses bad options', async () => {
    const { inputs } = makeInputs();
    await expect(runSecAggRound({ context: 'c', threshold: 11, inputs })).rejects.toThrow(/exceeds the roster size 10/);
    await expect(
      runSecAggRound({ context: 'c', threshold: T, inputs, dropAfter: [{ stage: 'mask', ids: ['nobody'] }] }),
    ).rejects.toThrow(/cannot drop 'nobody'/);
    const uneven = new Map(inputs).set('hospital-000', new Uint32Array(3));
    await expect(runSecAggRound({ context: 'c', threshold: T, inputs: uneven })).rejects.toThrow(/not a Uint32Array of/);
  });
});
