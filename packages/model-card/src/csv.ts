import type { ModelSpec, RoundView } from '@fedward/protocol';
import type { PrivacyCard } from './schema';
import { accuracyInterval } from './wilson';

/*
 * The admin's downloads, as RFC 4180 CSV: CRLF line ends, a header row, and a field quoted
 * (with "" for a quote) when it holds a comma, a quote, CR or LF. Text that a spreadsheet would
 * run as a formula (a leading =, +, -, @, tab or CR: OWASP's list) gets a leading ' so it is
 * shown, not evaluated. Numbers are written by us and left as numbers (a negative loss must stay
 * a number); only text, such as a hospital's name, can carry a formula.
 */

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV field: numbers as numbers (∞ as "inf", NaN empty), text neutralised and quoted when needed. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A whole CSV document: header, then rows; every line ends in CRLF. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',') + '\r\n').join('');
}

const ROUND_COLUMNS = [
  'round',
  'completed_at',
  'hospital',
  'trained',
  'train_slices',
  'train_loss',
  'sub_clients',
  'backend',
  'test_slices',
  'accuracy',
  'accuracy_ci95_low',
  'accuracy_ci95_high',
  'loss',
  'deputy_accuracy',
  'deputy_loss',
  'round_mean_accuracy',
  'round_mean_loss',
  'epsilon_per_patient',
  'epsilon_per_hospital',
] as const;

/**
 * Rounds as CSV, one row per round and hospital (those that trained in it, then those that only
 * evaluated it); a round with neither gets one row without a hospital. The 95% Wilson interval is
 * left empty for a U-Net (`model: 'unet'`), whose accuracy is over pixels, not slices.
 */
export function roundsCsv(rounds: readonly RoundView[], options: { model?: ModelSpec['kind'] } = {}): string {
  const intervals = options.model !== 'unet';
  const rows: CsvValue[][] = [];
  for (const r of [...rounds].sort((a, b) => a.round - b.round)) {
    const hospitals = [...new Set([...r.participants.map((p) => p.hospital), ...r.evaluations.map((e) => e.hospital)])];
    const epsilon = r.dp ? (r.dp.epsilon ?? { patient: Infinity, hospital: Infinity }) : null;
    const common = {
      completedAt: r.completedAt === null ? null : new Date(r.completedAt).toISOString(),
      meanAccuracy: r.accuracy,
      meanLoss: r.loss,
    };
    for (const hospital of hospitals.length ? hospitals : [null]) {
      const p = r.participants.find((x) => x.hospital === hospital);
      const e = r.evaluations.find((x) => x.hospital === hospital);
      const ci = e && intervals ? accuracyInterval(e.accuracy, e.testSamples) : null;
      rows.push([
        r.round,
        common.completedAt,
        hospital,
        hospital === null ? null : Boolean(p),
        p?.trainSamples,
        p?.trainLoss,
        p?.subClients,
        p?.backend,
        e?.testSamples,
        e?.accuracy,
        ci?.low,
        ci?.high,
        e?.loss,
        e?.deputy?.accuracy,
        e?.deputy?.loss,
        common.meanAccuracy,
        common.meanLoss,
        epsilon?.patient,
        epsilon?.hospital,
      ]);
    }
  }
  return toCsv(ROUND_COLUMNS, rows);
}

const LEDGER_COLUMNS = [
  'round',
  'mechanism',
  'private',
  'noise_multiplier_z',
  'clip_C',
  'clip_rule',
  'updates_M',
  'updates_per_hospital_VN',
  'updates_per_hospital_rule',
  'strategy',
  'probe',
  'released',
  'unit',
  'epsilon_per_patient',
  'epsilon_per_hospital',
  'delta',
  'accountant',
] as const;

/** The card's privacy ledger as CSV, one row per DP round; ε is "inf" where the round is not private. Empty (header only) without DP. */
export function ledgerCsv(card: PrivacyCard): string {
  const rows = (card.privacy?.ledger ?? []).map((e) => [
    e.round,
    e.mechanism,
    e.private,
    e.noiseMultiplier,
    e.clip,
    e.clipRule,
    e.updates,
    e.virtualClients,
    e.vnRule,
    e.strategy,
    e.probe,
    e.released.join(';'),
    e.unit,
    e.epsilon ? e.epsilon.patient : Infinity,
    e.epsilon ? e.epsilon.hospital : Infinity,
    e.delta,
    e.accountant,
  ]);
  return toCsv(LEDGER_COLUMNS, rows);
}
