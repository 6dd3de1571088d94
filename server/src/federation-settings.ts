import type { FederationConfig, PrivacyConfig } from '@fedward/protocol';
import { flagForSetting, valueAt } from './cli-flags';
import type { FederationOverrides } from './server';
import type { Store } from './store';

/**
 * Settings you can trust: a database that holds a federation keeps running it with the settings it
 * was created with (its rounds and privacy ledger were made under them). A start flag that says
 * otherwise used to be ignored without a word, so an admin could believe DP or a model was on when
 * it was not; now the start stops and names every disagreement.
 */

/** What a DP federation gets for each privacy setting not given (DP is on once a noise multiplier is). */
/** What a new federation's DP-SGD gets for the settings not given with --dp-sgd-noise. */
export const DP_SGD_DEFAULTS = { clip: 1, targetEpsilon: 8, delta: 1e-5, sampling: 'poisson' } as const;

export const PRIVACY_DEFAULTS = {
  clipNorm: 1,
  targetEpsilon: 8,
  delta: 1e-5,
  unit: 'hospital',
  accountant: 'rdp',
  virtualClients: 'heuristic',
  vnRule: 'default',
  clipRule: 'fixed',
} as const satisfies Partial<PrivacyConfig>;

export interface SettingConflict {
  /** Dot path into FederationConfig, e.g. 'privacy.noiseMultiplier'. */
  setting: string;
  given: unknown;
  /** undefined: the stored federation does not set it. */
  stored: unknown;
}

export class SettingsConflictError extends Error {
  override readonly name = 'SettingsConflictError';

  constructor(
    readonly federationId: string,
    readonly conflicts: readonly SettingConflict[],
  ) {
    super(
      [
        ...conflicts.map((c) => conflictLine(federationId, c)),
        "The database's settings win, so the server did not start. Start with --reset to create a new federation in this " +
          "database (the old one is stopped; its rounds and ledger stay in the file and on the admin page), or use another --db.",
      ].join('\n'),
    );
  }
}

export type CreateFederation = (store: Store, overrides: FederationOverrides) => Promise<FederationConfig>;

/**
 * The federation this start runs. Without a stored one, `create` makes it from the overrides. With
 * one stored, every setting given in `overrides` must equal the stored value (SettingsConflictError
 * otherwise), unless `reset` asks for a new federation, which then becomes the current one.
 * `notes` says what the operator should know (a reset).
 */
export async function resolveFederation(
  store: Store,
  overrides: FederationOverrides,
  opts: { reset?: boolean; create: CreateFederation },
): Promise<{ config: FederationConfig; notes: string[] }> {
  const stored = store.currentFederation();
  if (!stored) {
    const config = await opts.create(store, withPrivacyDefaults(overrides));
    store.setSetting('cli_study', config.id);
    store.appendAudit('server', 'federation-created', config.id);
    return { config, notes: [] };
  }
  if (opts.reset) return startAfresh(store, stored, overrides, opts.create);
  const conflicts = findConflicts(stored, overrides);
  if (conflicts.length > 0) throw new SettingsConflictError(stored.id, conflicts);
  return { config: stored, notes: [] };
}

/** Every setting given (undefined counts as not given) that differs from the stored one. */
export function findConflicts(stored: FederationConfig, overrides: FederationOverrides): SettingConflict[] {
  return leaves(overrides)
    .map(([setting, given]) => ({ setting, given, stored: valueAt(stored, setting) }))
    .filter((c) => !sameValue(c.given, c.stored));
}

async function startAfresh(
  store: Store,
  previous: FederationConfig,
  overrides: FederationOverrides,
  create: CreateFederation,
): Promise<{ config: FederationConfig; notes: string[] }> {
  const ids = new Set(store.federationIds());
  const id = overrides.id ?? nextId(previous.id, ids);
  // Rounds, tokens and evaluations are keyed by federation id: reusing one would mix two federations.
  if (ids.has(id)) throw new Error(`--reset: this database already has a federation ${id}; choose another id`);
  const config = await create(store, withPrivacyDefaults({ ...overrides, id }));
  const finished = store.rounds(previous.id).length;
  store.setSetting('cli_study', config.id);
  store.setStudyStatus(previous.id, 'stopped');
  store.appendAudit('server', 'federation-reset', `${previous.id} (${finished} finished rounds) replaced by ${config.id}`);
  return {
    config,
    notes: [`--reset: started federation ${config.id}; ${previous.id} is stopped (its ${finished} finished rounds stay in the file)`],
  };
}

/** demo → demo-2 → demo-3: numbered after the first federation, so ids stay readable. */
function nextId(current: string, ids: ReadonlySet<string>): string {
  const numbered = /^(.+)-\d+$/.exec(current);
  const base = numbered && ids.has(numbered[1]!) ? numbered[1]! : current;
  let n = 2;
  while (ids.has(`${base}-${n}`)) n += 1;
  return `${base}-${n}`;
}

/** The command line gives only the privacy settings the user typed; a new DP federation needs all of them. */
function withPrivacyDefaults(overrides: FederationOverrides): FederationOverrides {
  const withDp = overrides.privacy ? { ...overrides, privacy: { ...PRIVACY_DEFAULTS, ...overrides.privacy } } : overrides;
  return withDp.dpSgd ? { ...withDp, dpSgd: { ...DP_SGD_DEFAULTS, ...withDp.dpSgd } } : withDp;
}

function leaves(value: object, prefix = ''): [string, unknown][] {
  return Object.entries(value).flatMap(([key, v]): [string, unknown][] => {
    if (v === undefined) return [];
    return isPlainObject(v) ? leaves(v, `${prefix}${key}.`) : [[`${prefix}${key}`, v]];
  });
}

const isPlainObject = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);

const sameValue = (a: unknown, b: unknown): boolean => Object.is(a, b) || JSON.stringify(a) === JSON.stringify(b);

/** Names the flag and shows both values in its units (--deadline-s in seconds, not the stored ms). */
function conflictLine(federationId: string, c: SettingConflict): string {
  const flag = flagForSetting(c.setting);
  const show = flag?.show ?? ((v: unknown) => JSON.stringify(v));
  const name = flag?.flag ?? c.setting;
  const given = flag ? `--${flag.flag} ${show(c.given)}` : `federation setting ${c.setting} = ${show(c.given)}`;
  const stored = c.stored === undefined ? `${name} not set` : `${name} = ${show(c.stored)}`;
  return `${given} conflicts with the stored federation ${federationId} (${stored})`;
}
