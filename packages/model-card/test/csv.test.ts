import { describe, expect, it } from 'vitest';
import type { RoundView } from '@fedward/protocol';
import { buildPrivacyCard, csvField, ledgerCsv, roundsCsv, toCsv } from '../src';
import { HOSTILE, dpConfig, dpInput, rounds } from './fixtures';

/** A strict RFC 4180 reader (CRLF records, "" inside quotes), written here so the tests do not trust the writer. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
      } else {
        field += c;
        i++;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      record.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else {
      if (c === '"' || c === '\r' || c === '\n') throw new Error(`bare ${JSON.stringify(c)} at ${i}`);
      field += c;
      i++;
    }
  }
  if (field !== '' || record.length) throw new Error('last record does not end in CRLF');
  return records;
}

describe('CSV fields (RFC 4180, formula-safe)', () => {
  it('quotes a field with a comma, quote, CR or LF and doubles its quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
  });

  it('neutralises text that a spreadsheet would run as a formula', () => {
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('+cmd')).toBe("'+cmd");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\t=x')).toBe("'\t=x");
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('a=b')).toBe('a=b');
  });

  it('writes numbers as numbers (a negative one stays negative), ∞ as inf, booleans and empties', () => {
    expect(csvField(-0.25)).toBe('-0.25');
    expect(csvField(1e-5)).toBe('0.00001');
    expect(csvField(Infinity)).toBe('inf');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(true)).toBe('true');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
  });

  it('ends every record in CRLF and reads back as written', () => {
    const text = toCsv(['a', 'b'], [['x,y', 'he said "no"\r\nthen left'], [1, null]]);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(parseCsv(text)).toEqual([
      ['a', 'b'],
      ['x,y', 'he said "no"\r\nthen left'],
      ['1', ''],
    ]);
  });
});

describe('roundsCsv', () => {
  it('one row per round and hospital; hostile names survive as text', () => {
    const nasty = '=cmd|" /C calc"!A0, "x"';
    const named: RoundView[] = rounds.map((r) => ({
      ...r,
      participants: r.participants.map((p) => (p.hospital === HOSTILE ? { ...p, hospital: nasty } : p)),
      evaluations: r.evaluations.map((e) => (e.hospital === HOSTILE ? { ...e, hospital: nasty } : e)),
    }));
    const table = parseCsv(roundsCsv(named));
    const [header, ...rows] = table;
    expect(header!.slice(0, 4)).toEqual(['round', 'completed_at', 'hospital', 'trained']);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.length === header!.length)).toBe(true);
    const col = (name: string) => header!.indexOf(name);
    const hostileRow = rows.find((r) => r[col('round')] === '2' && r[col('hospital')] === `'${nasty}`)!;
    expect(hostileRow).toBeDefined();
    expect(hostileRow[col('completed_at')]).toBe('2025-01-02T10:05:00.000Z');
    expect(hostileRow[col('test_slices')]).toBe('10');
    expect(hostileRow[col('accuracy')]).toBe('0.8');
    expect(Number(hostileRow[col('accuracy_ci95_low')])).toBeCloseTo(0.4901625, 6);
    expect(Number(hostileRow[col('accuracy_ci95_high')])).toBeCloseTo(0.9433178, 6);
    expect(hostileRow[col('epsilon_per_patient')]).toBe('3.25');
    // Round 1 was trained, not evaluated.
    const first = rows.find((r) => r[col('round')] === '1' && r[col('hospital')] === 'North')!;
    expect(first[col('trained')]).toBe('true');
    expect(first[col('accuracy')]).toBe('');
    // No field starts a formula.
    for (const r of rows) for (const f of r) expect(f).not.toMatch(/^[=+@\t\r]|^-(?!\d)/);
  });

  it('leaves the interval empty for a U-Net and writes a round with no hospital as one row', () => {
    const rows = parseCsv(roundsCsv(rounds, { model: 'unet' })).slice(1);
    expect(rows.every((r) => r[10] === '' && r[11] === '')).toBe(true);
    const empty: RoundView = { round: 9, dp: null, participants: [], accuracy: null, loss: null, evaluations: [], completedAt: null };
    expect(parseCsv(roundsCsv([empty]))[1]!.slice(0, 4)).toEqual(['9', '', '', '']);
  });
});

describe('ledgerCsv', () => {
  it('one row per ledger entry, equal to the input rounds', () => {
    const card = buildPrivacyCard(dpInput);
    const [header, ...rows] = parseCsv(ledgerCsv(card));
    expect(header).toEqual([
      'round', 'mechanism', 'private', 'noise_multiplier_z', 'clip_C', 'clip_rule', 'updates_M', 'updates_per_hospital_VN',
      'updates_per_hospital_rule', 'strategy', 'probe', 'released', 'unit', 'epsilon_per_patient', 'epsilon_per_hospital', 'delta', 'accountant',
    ]);
    expect(rows).toHaveLength(rounds.length);
    rows.forEach((r, i) => {
      const dp = rounds[i]!.dp!;
      expect(r).toEqual([
        String(rounds[i]!.round), 'discrete-gaussian', 'true', String(dp.noiseMultiplier), String(dp.clip), dp.clipRule, String(dp.updates),
        String(dp.virtualClients), dp.vnRule, dp.strategy, String(dp.probe), dp.releases.map((x) => x.what).join(';'), 'patient',
        String(dp.epsilon!.patient), String(dp.epsilon!.hospital), '0.00001', 'rdp',
      ]);
    });
  });

  it('writes inf where a round is not private, and only a header without DP', () => {
    const card = buildPrivacyCard(dpInput);
    const ledger = card.privacy!.ledger.map((e) => ({ ...e, private: false, epsilon: null }));
    const rows = parseCsv(ledgerCsv({ ...card, privacy: { ...card.privacy!, ledger } })).slice(1);
    expect(rows.every((r) => r[13] === 'inf' && r[14] === 'inf' && r[2] === 'false')).toBe(true);
    const plain = buildPrivacyCard({ ...dpInput, config: { ...dpConfig, privacy: undefined }, privacy: null, rounds: rounds.map((r) => ({ ...r, dp: null })) });
    expect(parseCsv(ledgerCsv(plain))).toHaveLength(1);
  });
});
