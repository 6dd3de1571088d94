import { describe, expect, it } from 'vitest';
import type { FederationConfig, RoundView } from '@fedward/protocol';
import { EVALUATION_NOTES, buildPrivacyCard, hospitalCopy, parsePrivacyCard, privacyCardSchema, renderPrivacyCardHtml } from '../src';
import { HOSTILE, dpConfig, dpInput, hospitals, privacyView, rounds } from './fixtures';

describe('buildPrivacyCard', () => {
  it('survives a JSON round trip through the schema unchanged', () => {
    const card = buildPrivacyCard(dpInput);
    const back = parsePrivacyCard(JSON.parse(JSON.stringify(card)));
    expect(back).toEqual(card);
    expect(card.format).toBe('fedward.privacy-card');
    expect(card.version).toBe(1);
    expect(card.createdAt).toBe('2025-01-02T11:00:00.000Z');
    expect(card.software).toEqual({ name: 'Fedward', version: '0.1.0' });
    expect(card.planDigest).toBe('a'.repeat(64));
  });

  it('the schema refuses a card with a field out of range', () => {
    const card = buildPrivacyCard(dpInput);
    expect(privacyCardSchema.safeParse({ ...card, version: 2 }).success).toBe(false);
    expect(privacyCardSchema.safeParse({ ...card, evaluation: [{ ...card.evaluation[0]!, accuracy: 1.5 }] }).success).toBe(false);
    expect(privacyCardSchema.safeParse({ ...card, createdAt: 'yesterday' }).success).toBe(false);
  });

  it('takes the study from the config', () => {
    const { study } = buildPrivacyCard(dpInput);
    expect(study).toEqual({
      id: 'ich-demo',
      name: 'ICH demo',
      task: { model: 'small-cnn', kind: 'classification', inputSize: 32, channels: 1, classes: 2, labels: ['no bleed', 'bleed'], normalization: 'zscore' },
      rounds: { planned: 5, run: 3 },
      strategy: { aggregation: 'fedavg', personalization: 'fedavg' },
      training: { epochs: 2, batchSize: 16, learningRate: 0.001, optimizer: 'amsgrad' },
    });
  });

  it('keeps counts only per hospital, with the patient-id coverage they reported', () => {
    expect(buildPrivacyCard(dpInput).data).toEqual([
      { hospital: 'North', trainSlices: 120, testSlices: 40, patientIds: 'all' },
      { hospital: HOSTILE, trainSlices: 80, testSlices: 10, patientIds: null },
    ]);
  });

  it('the ledger is every DP round of the input, field for field', () => {
    const privacy = buildPrivacyCard(dpInput).privacy!;
    expect(privacy.ledger).toHaveLength(rounds.length);
    privacy.ledger.forEach((entry, i) => {
      const dp = rounds[i]!.dp!;
      expect(entry).toEqual({
        round: rounds[i]!.round,
        mechanism: dp.mechanism,
        private: dp.private,
        noiseMultiplier: dp.noiseMultiplier,
        clip: dp.clip,
        clipRule: dp.clipRule,
        updates: dp.updates,
        virtualClients: dp.virtualClients,
        vnRule: dp.vnRule,
        strategy: dp.strategy,
        probe: dp.probe,
        released: dp.releases.map((r) => r.what),
        unit: privacyView.unit,
        epsilon: dp.epsilon,
        delta: privacyView.delta,
        accountant: privacyView.accountant,
      });
    });
    expect(privacy.spent).toEqual(privacyView.spent);
    expect(privacy.relations).toEqual(privacyView.relations);
    expect(privacy.subClients).toEqual({ mode: 'adaptive', next: 3 });
  });

  it('orders the ledger by round and leaves out rounds without DP', () => {
    const shuffled: RoundView[] = [rounds[2]!, { ...rounds[0]!, dp: null }, rounds[1]!];
    expect(buildPrivacyCard({ ...dpInput, rounds: shuffled }).privacy!.ledger.map((e) => e.round)).toEqual([2, 3]);
  });

  it('puts a 95% Wilson interval on each accuracy and flags held-out sets under 30 slices', () => {
    const card = buildPrivacyCard(dpInput);
    const small = card.evaluation.find((e) => e.round === 2 && e.hospital === HOSTILE)!;
    expect(small.testSlices).toBe(10);
    expect(small.ci95!.low).toBeCloseTo(0.4901625, 6); // 8 of 10
    expect(small.ci95!.high).toBeCloseTo(0.9433178, 6);
    expect(small.tooSmall).toBe(true);
    expect(small.note).toMatch(/Only 10 held-out slices \(fewer than 30\)/);
    const large = card.evaluation.find((e) => e.round === 2 && e.hospital === 'North')!;
    expect(large.tooSmall).toBe(false);
    expect(large.note).toBeNull();
    expect(card.evaluation.map((e) => [e.round, e.hospital])).toEqual([
      [2, 'North'],
      [2, HOSTILE],
      [3, 'North'],
      [3, HOSTILE],
    ]);
    expect(card.evaluationNotes).toEqual([EVALUATION_NOTES.independence, EVALUATION_NOTES.reported]);
  });

  it('gives no interval for a U-Net’s pixel accuracy', () => {
    const config: FederationConfig = { ...dpConfig, model: { ...dpConfig.model, kind: 'unet' } };
    const card = buildPrivacyCard({ ...dpInput, config, labels: ['prostate'] });
    expect(card.study.task).toMatchObject({ kind: 'segmentation', classes: 1, labels: ['prostate'] });
    expect(card.evaluation.every((e) => e.ci95 === null)).toBe(true);
    expect(card.evaluationNotes[0]).toBe(EVALUATION_NOTES.pixels);
  });

  it('carries the deputy’s figures under PRR-FL', () => {
    const config: FederationConfig = { ...dpConfig, privacy: undefined, model: { ...dpConfig.model, kind: 'vgg-slim' }, personalization: { strategy: 'prr-fl' } };
    const withDeputy = rounds.map((r) => ({ ...r, dp: null, evaluations: r.evaluations.map((e) => ({ ...e, deputy: { accuracy: 0.5, loss: 0.9 } })) }));
    const card = buildPrivacyCard({ ...dpInput, config, privacy: null, rounds: withDeputy });
    expect(card.evaluation[0]!.deputy).toEqual({ accuracy: 0.5, ci95: expect.any(Object), loss: 0.9 });
    expect(card.releasePolicy.join(' ')).toMatch(/personalised model never leaves/);
  });

  it('has privacy null without DP, and says so in the release policy', () => {
    const config: FederationConfig = { ...dpConfig, privacy: undefined };
    const card = buildPrivacyCard({ ...dpInput, config, privacy: null, rounds: rounds.map((r) => ({ ...r, dp: null })) });
    expect(card.privacy).toBeNull();
    expect(card.releasePolicy.join(' ')).toMatch(/without differential privacy/);
    expect(card.releasePolicy.join(' ')).not.toMatch(/only noised values/);
  });

  it('release policy: only noised values and public settings leave under DP; names each noised release', () => {
    const policy = buildPrivacyCard(dpInput).releasePolicy.join(' ');
    expect(policy).toMatch(/only noised values and public settings leave/);
    expect(policy).toMatch(/noised count/); // quantile clip
    expect(policy).toMatch(/noised sum of the updates’ sizes/); // adaptive sub-clients
    expect(policy).toMatch(/Not covered by ε/);
    expect(policy).not.toMatch(/median/);
  });

  it('says the median clip voids the guarantee', () => {
    const config: FederationConfig = { ...dpConfig, privacy: { ...dpConfig.privacy!, clipRule: 'median' } };
    const view = { ...privacyView, clipRule: 'median' as const, private: false, spent: null, next: null };
    const medianRounds = rounds.map((r) => ({ ...r, dp: { ...r.dp!, clipRule: 'median' as const, private: false, epsilon: null } }));
    const card = buildPrivacyCard({ ...dpInput, config, privacy: view, rounds: medianRounds });
    expect(card.privacy!.private).toBe(false);
    expect(card.privacy!.ledger.every((e) => e.epsilon === null && !e.private)).toBe(true);
    expect(card.releasePolicy.join(' ')).toMatch(/No privacy guarantee holds: ε is infinite/);
  });

  it('refuses inputs that disagree', () => {
    expect(() => buildPrivacyCard({ ...dpInput, privacy: null })).toThrow(/no privacy view/);
    expect(() => buildPrivacyCard({ ...dpInput, config: { ...dpConfig, privacy: undefined } })).toThrow(/without DP/);
    expect(() => buildPrivacyCard({ ...dpInput, labels: ['a', 'b', 'c'] })).toThrow(/2 label/);
  });

  it('counts only finished rounds as run', () => {
    const running: RoundView = { ...rounds[2]!, round: 4, completedAt: null, evaluations: [] };
    expect(buildPrivacyCard({ ...dpInput, rounds: [...rounds, running] }).study.rounds).toEqual({ planned: 5, run: 3 });
  });

  it('uses the hospitals as given', () => {
    expect(buildPrivacyCard({ ...dpInput, hospitals: hospitals.slice(0, 1) }).data).toHaveLength(1);
  });
});

describe('hospitalCopy', () => {
  it("keeps the study, the settings and the whole ledger, and only that hospital's own counts and results", () => {
    const card = buildPrivacyCard(dpInput);
    const copy = hospitalCopy(card, 'North');
    expect(card.copyFor).toBeNull();
    expect(copy.copyFor).toBe('North');
    expect(copy.privacy).toEqual(card.privacy);
    expect(copy.study).toEqual(card.study);
    expect(copy.releasePolicy).toEqual(card.releasePolicy);
    expect(copy.data.map((d) => d.hospital)).toEqual(['North']);
    expect(copy.evaluation.length).toBeGreaterThan(0);
    expect(copy.evaluation.every((e) => e.hospital === 'North')).toBe(true);
    expect(copy.evaluation).toEqual(card.evaluation.filter((e) => e.hospital === 'North'));
    const page = renderPrivacyCardHtml(copy);
    expect(page).toContain('Copy for');
    expect(page).not.toContain('&lt;img'); // the hostile hospital's name is not on North's copy at all
    expect(renderPrivacyCardHtml(card)).not.toContain('Copy for');
  });

  it('a hospital that reported nothing gets the study and the ledger with empty own rows', () => {
    const copy = hospitalCopy(buildPrivacyCard(dpInput), 'Nowhere');
    expect(copy.data).toEqual([]);
    expect(copy.evaluation).toEqual([]);
    expect(copy.privacy!.ledger.length).toBeGreaterThan(0);
  });
});
