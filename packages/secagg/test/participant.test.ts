import { describe, expect, it } from 'vitest';
import { advertiseKeys, fromRing, maskInput, prg, revealShares, shareKeys, subInto, ringSum, toRing, ThresholdError } from '../src/index';
import type { KeyAdvert } from '../src/index';
import { makeIds, maskRound, randomInts, shareRound } from './helpers';

describe('masking', () => {
  it('masks cancel exactly: Σ y_u − Σ PRG(b_u) = Σ x_u', async () => {
    const ids = makeIds(5);
    const config = { context: 'study/round-1', threshold: 3, length: 1001 };
    const { plain, masked, states } = await maskRound(ids, config, -(2 ** 28), 2 ** 28);
    const total = ringSum(masked.values());
    for (const id of ids) subInto(total, await prg(states.get(id)!.selfMaskKey, config.length));
    const expected = ringSum([...plain.values()].map(toRing));
    expect(total).toEqual(expected);
    // No masked vector is its input.
    for (const id of ids) expect(masked.get(id)).not.toEqual(toRing(plain.get(id)!));
  });

  it('no masked vector correlates with its input', async () => {
    const ids = makeIds(3);
    const config = { context: 'ctx', threshold: 2, length: 10_000 };
    const { plain, masked } = await maskRound(ids, config, -1000, 1000);
    for (const id of ids) {
      const x = plain.get(id)!;
      const y = fromRing(masked.get(id)!);
      const n = x.length;
      const mx = x.reduce((a, b) => a + b, 0) / n;
      const my = y.reduce((a, b) => a + b, 0) / n;
      let sxy = 0;
      let sxx = 0;
      let syy = 0;
      for (let i = 0; i < n; i++) {
        sxy += (x[i]! - mx) * (y[i]! - my);
        sxx += (x[i]! - mx) ** 2;
        syy += (y[i]! - my) ** 2;
      }
      const r = sxy / Math.sqrt(sxx * syy);
      expect(Math.abs(r)).toBeLessThan(0.05); // sd of r under independence is 1/√n = 0.01
      const equal = x.filter((v, i) => v === y[i]).length;
      expect(equal).toBeLessThan(5);
    }
  });
});

describe('shareKeys validation', () => {
  const config = { context: 'ctx', threshold: 2, length: 4 };
  const three = () => makeIds(3).map((id) => advertiseKeys(id));

  it('refuses malformed rosters with clear messages', async () => {
    const ps = three();
    const me = ps[0]!.secret;
    const adverts = ps.map((p) => p.advert);
    await expect(shareKeys(me, config, [...adverts, adverts[1]!])).rejects.toThrow(/lists 'hospital-001' twice/);
    await expect(shareKeys(me, config, adverts.slice(1))).rejects.toThrow(/does not include this participant/);
    await expect(shareKeys(me, config, [{ ...adverts[0]!, cPk: new Uint8Array(31) }, adverts[1]!])).rejects.toThrow(
      /cPk must be a 32-byte/,
    );
    const dup: KeyAdvert = { id: 'mallory', cPk: advertiseKeys('x').advert.cPk, sPk: adverts[1]!.sPk };
    await expect(shareKeys(me, config, [...adverts, dup])).rejects.toThrow(/duplicates the public key 'hospital-001'.sPk/);
    await expect(shareKeys(me, { ...config, threshold: 4 }, adverts)).rejects.toThrow(/threshold 4 exceeds the roster size 3/);
    await expect(shareKeys(me, { ...config, threshold: 1 }, adverts)).rejects.toThrow(/must be an integer ≥ 2/);
    const swapped = [{ ...adverts[0]!, sPk: advertiseKeys('y').advert.sPk }, ...adverts.slice(1)];
    await expect(shareKeys(me, config, swapped)).rejects.toThrow(/does not carry this participant's public keys/);
    await expect(shareKeys(me, { ...config, context: '' }, adverts)).rejects.toThrow(/context/);
  });

  it('keeps its own share locally and encrypts one pair per other member', async () => {
    const ps = three();
    const { state, shares } = await shareKeys(ps[1]!.secret, config, ps.map((p) => p.advert).reverse());
    expect(shares.map((s) => s.to)).toEqual(['hospital-000', 'hospital-002']);
    expect(state.index).toBe(2);
    expect(state.ownShares.s.x).toBe(2);
    expect(state.roster.map((r) => r.id)).toEqual(makeIds(3));
  });
});

describe('maskInput refusals', () => {
  const config = { context: 'ctx', threshold: 3, length: 8 };
  const x = () => toRing(randomInts(8, -5, 5));

  it('refuses |U2| < t, itself not in U2, wrong length, missing or mislabelled shares', async () => {
    const ids = makeIds(4);
    const r = await shareRound(ids, config);
    const me = ids[0]!;
    const st = r.states.get(me)!;
    const inbox = r.inbox.get(me)!;
    await expect(maskInput(st, x(), ids.slice(0, 2), inbox.slice(0, 1))).rejects.toThrow(ThresholdError);
    await expect(maskInput(st, x(), ids.slice(0, 2), inbox.slice(0, 1))).rejects.toThrow(
      /sharing: 2 of 4 participants sent shares, the threshold is 3/,
    );
    await expect(maskInput(st, x(), ids.slice(1), inbox)).rejects.toThrow(/not in U2/);
    await expect(maskInput(st, toRing([1, 2]), ids, inbox)).rejects.toThrow(/2 words, the round's length is 8/);
    await expect(maskInput(st, x(), [...ids, 'nobody'], inbox)).rejects.toThrow(/'nobody', who is not in the roster/);
    await expect(maskInput(st, x(), ids, inbox.slice(1))).rejects.toThrow(/no share received from 'hospital-001'/);
    await expect(maskInput(st, x(), ids, [...inbox, inbox[0]!])).rejects.toThrow(/two shares claim to come from/);
    // A share addressed to someone else.
    const other = r.inbox.get(ids[1]!)!.find((s) => s.from === ids[2])!;
    await expect(maskInput(st, x(), ids, [...inbox.filter((s) => s.from !== ids[2]), other])).rejects.toThrow(
      /addressed to 'hospital-001', not to 'hospital-000'/,
    );
    // The same ciphertext relabelled as addressed to me: the AAD no longer matches.
    const relabelled = { ...other, to: me };
    await expect(maskInput(st, x(), ids, [...inbox.filter((s) => s.from !== ids[2]), relabelled])).rejects.toThrow(
      /failed to authenticate/,
    );
    // A share claiming another sender.
    const fromSwap = inbox.map((s) => (s.from === ids[1] ? { ...s, from: ids[3]! } : s.from === ids[3] ? { ...s, from: ids[1]! } : s));
    await expect(maskInput(st, x(), ids, fromSwap)).rejects.toThrow(/failed to authenticate/);
    // A flipped bit.
    const tampered = inbox.map((s, i) => (i === 0 ? { ...s, ciphertext: s.ciphertext.map((b, j) => (j === 40 ? b ^ 0x80 : b)) } : s));
    await expect(maskInput(st, x(), ids, tampered)).rejects.toThrow(/failed to authenticate/);
    // After all those refusals it still masks (nothing was released), and only once.
    await expect(maskInput(st, x(), ids, inbox)).resolves.toBeInstanceOf(Uint32Array);
    await expect(maskInput(st, x(), ids, inbox)).rejects.toThrow(/already called/);
  });
});

describe('revealShares refusals', () => {
  const config = { context: 'ctx', threshold: 3, length: 4 };

  it('refuses overlapping, incomplete, foreign or too-small lists, and a second call', async () => {
    const ids = makeIds(5);
    const { states } = await maskRound(ids, config);
    const st = states.get(ids[0]!)!;
    const [a, b, c, d, e] = ids as [string, string, string, string, string];
    expect(() => revealShares(st, [d, e], [a, b, c, d])).toThrow(/'hospital-003' listed both as dropped and as survivor/);
    expect(() => revealShares(st, [e], [a, b, c])).toThrow(/do not cover U2: 'hospital-003' missing/);
    expect(() => revealShares(st, [e, 'x'], [a, b, c, d])).toThrow(/names 'x', who is not in U2/);
    expect(() => revealShares(st, [e], [a, b, c, d, 'x'])).toThrow(/names 'x', who is not in U2/);
    expect(() => revealShares(st, [c, d, e], [a, b])).toThrow(/masking: 2 of 5 participants sent masked inputs, the threshold is 3/);
    expect(() => revealShares(st, [a, b], [c, d, e])).toThrow(/not in the survivor list/);
    expect(() => revealShares(st, [e, e], [a, b, c, d])).toThrow(/lists 'hospital-004' twice/);
    // Nothing was revealed by the refused calls, so a valid one goes through — once.
    const reveal = revealShares(st, [e], [a, b, c, d]);
    expect(reveal.sShares.map((s) => s.of)).toEqual([e]);
    expect(reveal.bShares.map((s) => s.of)).toEqual([a, b, c, d]);
    expect(reveal.bShares.every((s) => s.share.x === 1)).toBe(true);
    // A second call, even one asking for the b share of the peer whose s share went out, is refused.
    expect(() => revealShares(st, [], ids)).toThrow(/already called/);
    expect(() => revealShares(st, [e], [a, b, c, d])).toThrow(/already called/);
  });

  it('refuses before masking', async () => {
    const ids = makeIds(3);
    const r = await shareRound(ids, { ...config, threshold: 2 });
    expect(() => revealShares(r.states.get(ids[0]!)!, [], ids)).toThrow(/call maskInput first/);
  });
});
