import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { FederationConfig, PrivacyConfig } from '@fedward/protocol';
import { driveFederation, type UpdateFn } from './drive-coordinator';

/**
 * The release policy, tested as a data-protection officer would: run the real coordinator (round
 * engine, SQLite, log) on two neighbouring worlds that differ in one hospital's updates, and walk
 * every field of everything that leaves aggregation: the admin snapshot, every SQLite row and
 * every line the server printed. A field that comes out the same in every run of world A (so not
 * noised) and the same in every run of world B, but different between the worlds, is a
 * deterministic function of the private updates: a leak. Noised releases differ between runs;
 * public settings are equal in both worlds. (Coarse post-processing of a noised value, such as a
 * VN or a clamped fraction, can repeat by chance; the worlds below keep those varying.)
 */

const D = 400;
const HOSPITALS = ['a', 'b', 'c'];

function direction(key: number, norm: number): number[] {
  const v = Array.from({ length: D }, (_, k) => (Math.sin(key * 12.9898 + k * 78.233) * 43758.5453) % 1);
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => (x * norm) / n);
}

function worldUpdate(world: 'A' | 'B'): UpdateFn {
  return (h, round, global, sub) => {
    const key = (HOSPITALS.indexOf(h) + 1) * 100 + round * 10 + sub;
    // Hospital b's updates are clipped (norm 4 > C = 1), a's and c's are not (0.4). World B:
    // hospital c's updates point elsewhere and are 10× longer (clipped too).
    const d = world === 'B' && h === 'c' ? direction(7000 + key, 4) : direction(key, h === 'b' ? 4 : 0.4);
    let k = 0;
    return global.map((t) => ({ ...t, values: Float32Array.from(t.values, (v) => v + d[k++]!) }));
  };
}

type Leaves = Map<string, string>;

/** Every leaf of a JSON-like value, by path; binary becomes hex, numbers their exact text. */
function leaves(value: unknown, path = '', out: Leaves = new Map()): Leaves {
  if (value instanceof Uint8Array) out.set(path, Buffer.from(value).toString('hex'));
  else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  else out.set(path, JSON.stringify(value) ?? 'undefined');
  return out;
}

/** JSON text inside SQLite columns (dp, ledger, config) is walked as JSON too. */
function parseJsonText(v: unknown): unknown {
  if (typeof v !== 'string' || !/^[[{]/.test(v)) return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

async function observe(world: 'A' | 'B', privacy: PrivacyConfig, aggregation?: FederationConfig['aggregation']): Promise<Leaves> {
  const run = await driveFederation({ hospitals: HOSPITALS, rounds: 3, dimension: D, privacy, aggregation, update: worldUpdate(world) });
  try {
    const snapshot = run.coordinator.snapshot([]);
    const db = new Database(run.dbPath, { readonly: true });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    const sqlite = Object.fromEntries(
      tables.map((t) => [t, (db.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[]).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, parseJsonText(v)])))]),
    );
    db.close();
    return leaves({ snapshot, sqlite, printed: run.printed });
  } finally {
    run.close();
  }
}

/**
 * Fields present in every run, constant across the runs of world A and across those of world B,
 * but different between them. Only fields present everywhere are compared: how many log lines a
 * run has follows the (noised, random) VN, so an index present in some runs only says nothing
 * about the updates; `presenceLeaks` checks separately that no field's presence tells the worlds apart.
 */
export function deterministicLeaks(a: readonly Leaves[], b: readonly Leaves[]): string[] {
  const paths = new Set([...a, ...b].flatMap((m) => [...m.keys()]));
  const everywhere = (p: string) => [...a, ...b].every((m) => m.has(p));
  const constant = (runs: readonly Leaves[], p: string) => runs.every((m) => m.get(p) === runs[0]!.get(p));
  return [...paths].filter((p) => everywhere(p) && constant(a, p) && constant(b, p) && a[0]!.get(p) !== b[0]!.get(p));
}

/** The field names of a run, array indices left out: both worlds must have the same. */
export function shape(run: Leaves): string[] {
  return [...new Set([...run.keys()].map((k) => k.replace(/\[\d+\]/g, '[]')))].sort();
}

/**
 * Fields whose presence tells the worlds apart: present in every run of one world and in none of
 * the other. (A field that comes and goes within a world, like an accountant warning that follows
 * the noised VN, tells nothing.)
 */
export function presenceLeaks(a: readonly Leaves[], b: readonly Leaves[]): string[] {
  const shapes = (runs: readonly Leaves[]) => runs.map((r) => new Set(shape(r)));
  const [sa, sb] = [shapes(a), shapes(b)];
  const all = new Set([...sa, ...sb].flatMap((s) => [...s]));
  const everywhere = (ss: Set<string>[], p: string) => ss.every((s) => s.has(p));
  const nowhere = (ss: Set<string>[], p: string) => ss.every((s) => !s.has(p));
  return [...all].filter((p) => (everywhere(sa, p) && nowhere(sb, p)) || (everywhere(sb, p) && nowhere(sa, p)));
}

async function runs(world: 'A' | 'B', count: number, privacy: PrivacyConfig, aggregation?: FederationConfig['aggregation']): Promise<Leaves[]> {
  const out: Leaves[] = [];
  for (let i = 0; i < count; i++) out.push(await observe(world, privacy, aggregation));
  return out;
}

const base: PrivacyConfig = { noiseMultiplier: 1, clipNorm: 1, targetEpsilon: 1e9, delta: 1e-5, unit: 'patient', accountant: 'rdp' };

describe('release policy: nothing that leaves aggregation is a deterministic function of the updates', () => {
  it('the walker flags a field computed from the updates (the old record’s Σ‖Δ‖, clipped count)', () => {
    const a = [0, 1, 2].map(() => leaves({ round: 1, normSum: 3.25, clipped: 0, weights: Math.random() }));
    const b = [0, 1].map(() => leaves({ round: 1, normSum: 5.5, clipped: 1, weights: Math.random() }));
    expect(deterministicLeaks(a, b).sort()).toEqual(['clipped', 'normSum']);
  });

  it('fixed clip, adaptive VN (probe and noised norm sums): snapshot, SQLite and log hold no such field', async () => {
    // A noisier norm sum (3·C) keeps the VN it chooses varying from run to run.
    const privacy: PrivacyConfig = { ...base, virtualClients: 'adaptive', normSumNoise: 3 };
    const a = await runs('A', 4, privacy);
    const b = await runs('B', 2, privacy);
    // The runs did release: rounds, weights and ledgers are there.
    expect([...a[0]!.keys()].some((p) => p.startsWith('sqlite.rounds[3].weights'))).toBe(true);
    expect([...a[0]!.keys()].some((p) => p.includes('adaptive.noisedNormSum'))).toBe(true);
    expect(deterministicLeaks(a, b)).toEqual([]);
    expect(presenceLeaks(a, b)).toEqual([]);
  }, 120_000);

  it('quantile clip (noised count), two sub-clients per hospital, FedAdam server state: no such field either', async () => {
    // 4 of the 6 updates under C in world A, 2 of 6 in B. Count noise σ = 3 (not 1): an integer
    // count with σ = 1 repeats in all 4 runs of A and both of B about once in 100 runs, which the
    // walker rightly reads as deterministic; at σ = 3 (clamping included) about 4 in 10,000.
    const privacy: PrivacyConfig = { ...base, clipRule: 'quantile', countNoise: 3, virtualClients: 2 };
    const aggregation = { strategy: 'fedadam' as const, serverLearningRate: 0.01 };
    const a = await runs('A', 4, privacy, aggregation);
    const b = await runs('B', 2, privacy, aggregation);
    expect([...a[0]!.keys()].some((p) => p.includes('quantile.noisedCount'))).toBe(true);
    expect(deterministicLeaks(a, b)).toEqual([]);
    expect(presenceLeaks(a, b)).toEqual([]);
  }, 120_000);
});
